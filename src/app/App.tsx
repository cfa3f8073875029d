import { useEffect, useState } from 'react';
import { AdvancedSettings } from './components/AdvancedSettings';
import { DecomposePanel } from './components/DecomposePanel';
import { Downloads } from './components/Downloads';
import { ModeSwitch } from './components/ModeSwitch';
import { VideoDownloads } from './components/VideoDownloads';
import { VideoEditForm } from './components/VideoEditForm';
import { VideoEditPanel } from './components/VideoEditPanel';
import { VideoInput } from './components/VideoInput';
import { VideoPlayer } from './components/VideoPlayer';
import { ModelPanel } from './components/ModelPanel';
import { Notices } from './components/Notices';
import { PhotoInput } from './components/PhotoInput';
import { PromptForm } from './components/PromptForm';
import { ResultViewer } from './components/ResultViewer';
import { RunControls } from './components/RunControls';
import { ErrorBoundary, SimulatePageError } from './ErrorBoundary';
import { adapterName, GpuInfo } from './GpuInfo';
import { runBusy, useApp } from './store';

export function App() {
  const gpu = useApp((s) => s.gpu);
  const connect = useApp((s) => s.connect);
  const debug = useApp((s) => s.url.debug);
  const mode = useApp((s) => s.mode);
  // The video edit is offered once the clip is decomposed (or a video edit was opened from a session).
  const editable = useApp((s) => s.clip !== null && (s.videoRun.decomposed || s.videoRun.info !== null));
  const [gpuOpen, setGpuOpen] = useState<boolean | null>(null);
  // The worker opens the GPU device and reports it; the page never opens one itself.
  useEffect(() => connect(), [connect]);
  const noWebGpu = gpu?.kind === 'unavailable';
  // A hardware GPU needs no attention: the panel folds. Software adapters and missing WebGPU stay explained.
  const open = gpuOpen ?? !(gpu?.kind === 'ready' && !gpu.software);

  useTrainingGuard();
  usePhotoPaste(!noWebGpu);

  return (
    <div className="page app">
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
        {!noWebGpu && (
          <ErrorBoundary>
            <ModeSwitch />
            <div className="editor">
              {mode === 'photo' ? (
                <>
                  <div className="editor-controls">
                    <PhotoInput />
                    <PromptForm />
                    <AdvancedSettings />
                    <ModelPanel />
                  </div>
                  <div className="editor-results">
                    <RunControls />
                    <Notices />
                    <ResultViewer />
                    <Downloads />
                    {debug && <SimulatePageError />}
                  </div>
                </>
              ) : (
                <>
                  <div className="editor-controls">
                    <VideoInput />
                    {editable && (
                      <>
                        <VideoEditForm />
                        <ModelPanel />
                      </>
                    )}
                  </div>
                  <div className="editor-results">
                    <DecomposePanel />
                    {editable && (
                      <>
                        <VideoEditPanel />
                        <VideoPlayer />
                        <VideoDownloads />
                      </>
                    )}
                    <Notices />
                  </div>
                </>
              )}
            </div>
          </ErrorBoundary>
        )}
        <details
          className="gpu-panel"
          open={open || noWebGpu}
          onToggle={(e) => setGpuOpen((e.currentTarget as HTMLDetailsElement).open)}
        >
          <summary>
            Your GPU
            {gpu?.kind === 'ready' && (
              <span className="muted">
                {' '}
                · {adapterName(gpu.summary)}
                {gpu.software ? ' (software)' : ''}
              </span>
            )}
          </summary>
          <GpuInfo availability={gpu} />
        </details>
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

/** Asks before leaving the page while an edit is being trained. */
function useTrainingGuard(): void {
  const busy = useApp(runBusy);
  useEffect(() => {
    if (!busy) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [busy]);
}

/** A pasted image becomes the photo; a file dropped outside the drop zone does not navigate away. */
function usePhotoPaste(enabled: boolean): void {
  const setInputFile = useApp((s) => s.setInputFile);
  useEffect(() => {
    if (!enabled) return;
    const onPaste = (e: ClipboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA') && !e.clipboardData?.files.length)
        return;
      const file = e.clipboardData?.files?.[0];
      if (file) {
        e.preventDefault();
        void setInputFile(file);
      }
    };
    const onDragOver = (e: DragEvent) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    };
    const onDrop = (e: DragEvent) => {
      if (!e.dataTransfer?.files.length) return;
      e.preventDefault();
      const file = e.dataTransfer.files[0];
      if (file) void setInputFile(file);
    };
    document.addEventListener('paste', onPaste);
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('drop', onDrop);
    return () => {
      document.removeEventListener('paste', onPaste);
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('drop', onDrop);
    };
  }, [enabled, setInputFile]);
}
