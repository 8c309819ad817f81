/** Domain names as Zavhoz accepts them for the proxy: checked here, whatever the client already checked. */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The name in the form the proxy and DNS get it (lowercase, no trailing dot), or a reason it is not a domain name
 * Zavhoz can route: at least two labels, letters, digits and inner hyphens, a TLD that is not all digits (an IP
 * address is not a domain), at most 253 characters; a wildcard only as a whole first label (`*.example.com`).
 */
export function normalizeDomain(input: string): { domain: string; wildcard: boolean } | { error: string } {
  const domain = input.trim().toLowerCase().replace(/\.$/, '');
  if (domain.length === 0 || domain.length > 253) return { error: 'a domain name has 1 to 253 characters' };
  const wildcard = domain.startsWith('*.');
  const labels = (wildcard ? domain.slice(2) : domain).split('.');
  if (labels.length < 2) return { error: 'a domain name has at least two labels, like shop.example.com' };
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return { error: `"${bad.slice(0, 63)}" is not a domain label (letters a-z, digits and inner hyphens, 1 to 63 characters${domain.includes('*') && !wildcard ? '; a wildcard is only *.name, as the whole first label' : ''})` };
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return { error: 'an IP address is not a domain name' };
  return { domain, wildcard };
}
