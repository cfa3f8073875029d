/**
 * Text2LIVE's prompt templates (spec §A.6.4, reference `util/util.py`). `{}` is replaced by the prompt.
 */

/** Fourteen generic templates, for the source (`T_src`) and composition (`T_comp`) texts. */
export const GENERIC_TEMPLATES: readonly string[] = Object.freeze([
  'photo of {}.',
  'high quality photo of {}.',
  'a photo of {}.',
  'the photo of {}.',
  'image of {}.',
  'an image of {}.',
  'high quality image of {}.',
  'a high quality image of {}.',
  'the {}.',
  'a {}.',
  '{}.',
  '{}',
  '{}!',
  '{}...',
]);

/** Two templates for the green-screen text (`T_screen`). */
export const SCREEN_TEMPLATES: readonly string[] = Object.freeze([
  '{} over a green screen.',
  '{} in front of a green screen.',
]);

/** One template applied to one prompt (the first `{}` is replaced, as Python's `str.format` with one argument). */
export function applyTemplate(template: string, prompt: string): string {
  const at = template.indexOf('{}');
  if (at < 0) throw new Error(`Prompt template ${JSON.stringify(template)} has no "{}"`);
  return template.slice(0, at) + prompt + template.slice(at + 2);
}

/**
 * Every prompt under every template, prompt-major: `[p0·t0 … p0·tN, p1·t0 …]` (the row order of `E_src`, `E_comp`,
 * `E_screen`). A single string is one prompt.
 */
export function expandPrompts(prompts: string | readonly string[], templates: readonly string[]): string[] {
  const list = typeof prompts === 'string' ? [prompts] : prompts;
  const out: string[] = [];
  for (const p of list) for (const t of templates) out.push(applyTemplate(t, p));
  return out;
}
