/** Attributes and properties for {@link element}: strings/booleans become attributes, `on*` become listeners. */
export type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/**
 * Creates an element with attributes, listeners and children. No HTML strings anywhere, so nothing the
 * extension sends can become markup (and there are no inline handlers for the CSP to refuse).
 */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes?: Attributes, children?: readonly (Node | string)[]): HTMLElementTagNameMap[K];
export function element(tag: string, attributes?: Attributes, children?: readonly (Node | string)[]): HTMLElement;
export function element(tag: string, attributes: Attributes = {}, children: readonly (Node | string)[] = []): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

/** A `vscode-option` for a select. */
export function option(value: string, label: string, selected: boolean): HTMLElement {
  return element('vscode-option', { value, selected }, [label]);
}

/** A labelled form row: `vscode-label` bound to the control by id (it sets the control's accessible name). */
export function formRow(id: string, label: string, control: HTMLElement, help?: string): HTMLElement {
  control.id = id;
  return element('vscode-form-group', { variant: 'vertical', 'data-field': id }, [
    element('vscode-label', { for: id }, [label]),
    control,
    ...(help ? [element('vscode-form-helper', {}, [help])] : []),
  ]);
}

/** The value of a vscode-elements control (textfield, textarea, select). */
export function valueOf(control: Element | null): string {
  return control && 'value' in control && typeof control.value === 'string' ? control.value : '';
}

/** Sets the value of a vscode-elements control. */
export function setValue(control: Element | null, value: string): void {
  if (control && 'value' in control) (control as { value: string }).value = value;
}
