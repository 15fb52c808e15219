// Loads the wasm module and mounts the Yew app. No inline script: the CSP forbids it.
import init, { run_app } from './pkg/web.js';

try {
  await init({ module_or_path: new URL('./pkg/web_bg.wasm', import.meta.url) });
  document.getElementById('loading')?.remove();
  run_app();
} catch (err) {
  const p = document.getElementById('loading') ?? document.body.appendChild(document.createElement('p'));
  p.className = 'banner error';
  p.textContent = `rdpfix could not start in this browser: ${err}`;
}
