import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import 'diff2html/bundles/css/diff2html.min.css';
import './styles.css';
import { takeTokenFromUrl } from './api.js';
import { App } from './App.js';

takeTokenFromUrl();
const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);
