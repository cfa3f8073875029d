/**
 * A button that opens a file picker for one `.safetensors` file (a session or a decomposition): the input is
 * hidden and cleared after each pick, so picking the same file again is seen.
 */
import { useRef } from 'react';

export interface OpenFileButtonProps {
  label: string;
  /** The hidden input's accessible name (the e2e tests set files on it). */
  inputLabel: string;
  disabled: boolean;
  onFile: (file: File) => void;
}

export function OpenFileButton({ label, inputLabel, disabled, onFile }: OpenFileButtonProps) {
  const fileRef = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" onClick={() => fileRef.current?.click()} disabled={disabled}>
        {label}
      </button>
      <input
        ref={fileRef}
        type="file"
        accept=".safetensors,application/octet-stream"
        className="visually-hidden"
        tabIndex={-1}
        aria-label={inputLabel}
        onChange={(e) => {
          const f = e.currentTarget.files?.[0];
          e.currentTarget.value = '';
          if (f) onFile(f);
        }}
      />
    </>
  );
}
