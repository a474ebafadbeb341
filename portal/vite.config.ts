import { defineConfig } from 'vite';

// A static app: `vite build` writes dist/, which any static server can serve. The dev and
// preview servers listen on loopback only.
export default defineConfig({
  base: './',
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 5173 },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
});
