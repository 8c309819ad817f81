import { element } from './dom.js';
import type { ModulesView } from './messages.js';

/**
 * Fills the deploy panel's modules section: the modules the project's compose files publish (name, service, how it is
 * published and where, its allocation or that the deploy allocates it), the allocated modules the next successful
 * deploy releases, and what to add when there is no compose file or no published port. Names and ports only.
 */
export function renderModulesSection(section: HTMLElement, modules: ModulesView | undefined): void {
  if (!modules) {
    section.replaceChildren(element('p', { class: 'muted' }, ['Reading the project’s compose files…']));
    return;
  }
  if (modules.error) {
    section.replaceChildren(element('p', { class: 'status error', role: 'alert', id: 'modules-error' }, [modules.error]));
    return;
  }
  const notice = modules.notice
    ? [element('p', { id: 'modules-notice', class: `status ${modules.notice.kind === 'no-compose-file' ? 'error' : 'warning'}`, role: 'alert', 'data-kind': modules.notice.kind }, [modules.notice.message])]
    : [];
  const table =
    modules.rows.length === 0
      ? []
      : [
          element('vscode-table', { id: 'modules-table', 'aria-label': 'Modules', zebra: true, 'bordered-rows': true, columns: '["16%", "18%", "36%", "30%"]' }, [
            element('vscode-table-header', { slot: 'header' }, ['Module', 'Service', 'Published', 'Allocation'].map((title) => element('vscode-table-header-cell', {}, [title]))),
            element(
              'vscode-table-body',
              { slot: 'body' },
              modules.rows.map((row) =>
                element('vscode-table-row', { 'data-module': row.name, 'data-allocated': row.allocated ? 'yes' : 'no' }, [
                  element('vscode-table-cell', {}, [element('code', {}, [row.name])]),
                  element('vscode-table-cell', {}, [row.service || '—']),
                  element('vscode-table-cell', { class: row.service ? '' : 'muted' }, [
                    row.service ? element('code', {}, [row.published]) : row.published,
                    ...(row.where ? [element('span', { class: 'muted' }, [` ${row.where}`])] : []),
                  ]),
                  element('vscode-table-cell', { class: row.allocated ? '' : 'muted' }, [row.allocation]),
                ]),
              ),
            ),
          ]),
        ];
  const retired =
    modules.retired.length === 0
      ? []
      : [
          element('p', { id: 'modules-retired', class: 'muted' }, [
            `No longer in the compose files, released once this deploy succeeds (port closed in UFW): ${modules.retired
              .map((module) => `${module.module} (port ${module.port} on ${module.server})`)
              .join(', ')}.`,
          ]),
        ];
  section.replaceChildren(...notice, ...table, ...retired);
}
