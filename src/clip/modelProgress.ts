/** Progress events of model loading, shared by the browser manager, the Node fetcher and the directory loader. */

/** Where bytes came from, as reported in progress events and `ClipModelFiles.sources`. */
export type LoadedFrom = 'self-hosted' | 'hub' | 'files' | 'cache' | 'directory';

export interface ModelProgressEvent {
  /** The file's path in the model folder (`onnx/text_model.onnx`). */
  file: string;
  /** Bytes of the file held so far, including bytes kept from an earlier attempt. */
  loaded: number;
  /** Expected bytes (Content-Length, Content-Range, the picked file's size, the cached size); null when unknown. */
  total: number | null;
  source: LoadedFrom;
  url?: string;
  /**
   * `downloading` (bytes arriving; also cache hits and picked files) or `verifying` (all bytes are in and their
   * SHA-256 is being checked; `loaded === total`). Absent from producers that only read (older callers may ignore it).
   */
  phase?: 'downloading' | 'verifying';
  /** Set when this request continues a partial file: the bytes that were already held when it started. */
  resumedFrom?: number;
  /** Set after a dropped connection: which automatic retry this request is (1, 2, …). */
  retry?: number;
}
