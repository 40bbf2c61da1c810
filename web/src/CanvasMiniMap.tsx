import { useReactFlow, useStore } from '@xyflow/react';
import { useEffect, useMemo, useRef } from 'react';
import type { GraphNode, RunLayout } from '../../src/contracts/dashboard.js';

const WIDTH = 200;
const HEIGHT = 150;
const COLOR: Record<string, string> = {
  pending: '#c3c9d3',
  running: '#2563eb',
  done: '#16a34a',
  failed: '#dc2626',
  blocked: '#b45309',
  waiting: '#d97706',
  cancelled: '#6b7280',
};

/**
 * The overview of a big DAG drawn on one canvas: React Flow's MiniMap makes an SVG element (and a store subscription)
 * per node, which costs seconds at 1,000 nodes; this draws them all in a few milliseconds. Click or drag to move there.
 */
export function CanvasMiniMap(props: { nodes: readonly GraphNode[]; layout: RunLayout }): React.JSX.Element {
  const { nodes, layout } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const flow = useReactFlow();
  const [tx, ty, zoom] = useStore((s) => s.transform);
  const paneW = useStore((s) => s.width);
  const paneH = useStore((s) => s.height);
  const bounds = useMemo(() => {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const [, x, y] of layout.positions) {
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x + layout.width);
      maxY = Math.max(maxY, y + layout.height);
    }
    const scale = Math.min(WIDTH / (maxX - minX || 1), HEIGHT / (maxY - minY || 1));
    return { minX, minY, scale };
  }, [layout]);
  const states = useMemo(() => new Map(nodes.map((n) => [n.id, n.state])), [nodes]);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const { minX, minY, scale } = bounds;
    ctx.clearRect(0, 0, WIDTH, HEIGHT);
    const w = Math.max(1, layout.width * scale);
    const h = Math.max(1, layout.height * scale);
    for (const [id, x, y] of layout.positions) {
      ctx.fillStyle = COLOR[states.get(id) ?? 'pending'] ?? COLOR['pending'] ?? '#ccc';
      ctx.fillRect((x - minX) * scale, (y - minY) * scale, w, h);
    }
    // The part of the graph on screen.
    ctx.strokeStyle = '#4f46e5';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(
      (-tx / zoom - minX) * scale,
      (-ty / zoom - minY) * scale,
      (paneW / zoom) * scale,
      (paneH / zoom) * scale,
    );
  }, [bounds, states, layout, tx, ty, zoom, paneW, paneH]);
  const moveTo = (e: React.PointerEvent<HTMLCanvasElement>): void => {
    if (e.type === 'pointermove' && e.buttons !== 1) return;
    const r = e.currentTarget.getBoundingClientRect();
    const x = (e.clientX - r.left) / bounds.scale + bounds.minX;
    const y = (e.clientY - r.top) / bounds.scale + bounds.minY;
    void flow.setCenter(x, y, { zoom });
  };
  return (
    <canvas
      ref={canvas}
      className="canvas-minimap"
      width={WIDTH}
      height={HEIGHT}
      aria-label="overview of the graph"
      onPointerDown={moveTo}
      onPointerMove={moveTo}
    />
  );
}
