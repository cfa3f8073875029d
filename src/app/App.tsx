import { GpuInfo } from './GpuInfo';

export function App() {
  return (
    <div className="page">
      <header className="masthead">
        <h1>Text2LIVE in the browser</h1>
        <p className="intro">
          Drop a photo, describe the edit in words (“golden horse”, “fire”, “snowy countryside”) and watch an edit layer
          grow over your picture. As in Text2LIVE (ECCV 2022), a small generator is trained for your photo and prompt
          alone, guided by CLIP, to paint an RGBA layer that is composited over the original: the edit lands on what the
          text describes and the rest of the photo stays as it was. The training runs right here, on your own GPU
          through WebGPU; the photo never leaves your device.
        </p>
      </header>
      <main>
        <p className="notice">The editor is not built yet. This page checks that your browser and GPU can run it.</p>
        <GpuInfo />
      </main>
      <footer className="colophon">
        <p>
          Diagnostics: <a href="engine-check.html">engine self-checks</a> · Method:{' '}
          <a href="https://text2live.github.io/">Text2LIVE</a> (Bar-Tal et al., ECCV 2022)
        </p>
      </footer>
    </div>
  );
}
