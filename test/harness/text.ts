/** Escapes regular-expression syntax in a literal string (a host address, a title) for `new RegExp`. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
