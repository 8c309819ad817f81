/**
 * Drives the VS Code workbench served by code-server with Playwright and Debian's Chromium: what a user clicks,
 * types and reads. Selectors are VS Code's own DOM (class names and ARIA labels of VS Code 1.139).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { ROOT } from '../harness/daemon.js';
import { escapeRegExp } from '../harness/text.js';

/** Where screenshots go (gitignored; CI keeps the folder as an artifact). */
export const RESULTS_FOLDER = path.join(ROOT, 'test-results');

/** Chromium flags for a headless run with no network chatter of its own. */
const chromiumArguments = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** How long a user-visible change may take on a busy 2-core machine before a step fails. */
export const UI_TIMEOUT_MS = 60_000;

/**
 * Script run inside a frame: where `needle` occurs in the document — visible text, attributes, form field values,
 * open shadow roots included. A string because the test project compiles without the DOM library.
 */
function findInFrameScript(needle: string): string {
  return `((needle) => {
    const found = [];
    const describe = (element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
      (typeof element.className === 'string' && element.className ? '.' + element.className.trim().split(/\\s+/).slice(0, 3).join('.') : '');
    const visit = (root) => {
      for (const element of root.querySelectorAll('*')) {
        if (typeof element.value === 'string' && element.value.includes(needle)) found.push('value of ' + describe(element));
        for (const attribute of element.attributes) {
          if (attribute.value.includes(needle)) found.push('attribute ' + attribute.name + ' of ' + describe(element));
        }
        if (element.shadowRoot) visit(element.shadowRoot);
      }
    };
    if ((document.documentElement.innerText || '').includes(needle) || (document.documentElement.textContent || '').includes(needle)) found.push('text');
    visit(document);
    return found;
  })(${JSON.stringify(needle)})`;
}

/** An open workbench in a headless browser. */
export class Workbench {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** Opens `url` in a fresh browser profile and waits for the workbench to show. */
  static async open(url: string, profileFolder: string): Promise<Workbench> {
    // launch() refuses --user-data-dir; a persistent context takes a throwaway profile folder instead.
    const context = await chromium.launchPersistentContext(profileFolder, {
      executablePath: '/usr/bin/chromium',
      args: chromiumArguments,
      viewport: { width: 1400, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await page.goto(url);
    const workbench = new Workbench(context, page);
    await workbench.waitForWorkbench();
    return workbench;
  }

  /** Waits until the workbench shell (activity bar and status bar) is on screen. */
  async waitForWorkbench(): Promise<void> {
    await this.page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible' });
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible' });
  }

  /** The activity-bar entry of a view container, by its title. */
  activityItem(title: string): Locator {
    return this.page.locator(`.part.activitybar .action-item a.action-label[aria-label^="${title}"]`).first();
  }

  /** Opens a view container from the activity bar (leaves it open when it already is) and waits for its side bar. */
  async openContainer(title: string): Promise<Locator> {
    const sideBar = this.page.locator('.part.sidebar');
    const heading = sideBar.locator('.composite.title h2', { hasText: title }).first();
    // Clicking the entry of the container already shown would close the side bar.
    if (!(await heading.isVisible())) await this.activityItem(title).click();
    await heading.waitFor({ state: 'visible' });
    return sideBar;
  }

  /** The pane of one view (its header and body) in the side bar. */
  view(name: string): Locator {
    return this.page.locator('.part.sidebar .pane', { has: this.page.locator(`.pane-header[aria-label^="${name}"]`) }).first();
  }

  /** Expands a view when it is collapsed and returns its pane. */
  async expandView(name: string): Promise<Locator> {
    const pane = this.view(name);
    const header = pane.locator('.pane-header').first();
    await header.waitFor({ state: 'attached' });
    // A container with a single view hides that view's header (the container title stands in for it).
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await pane.locator('.pane-body').waitFor({ state: 'visible' });
    return pane;
  }

  /** The rows of a tree view, as "label description" text, in order. */
  async treeRows(name: string): Promise<string[]> {
    const rows = this.view(name).locator('.monaco-list-row');
    return (await rows.allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
  }

  /** Waits until a tree row contains `text` and returns the row. */
  async waitForTreeRow(name: string, text: string | RegExp): Promise<Locator> {
    const row = this.view(name).locator('.monaco-list-row', { hasText: text }).first();
    await row.waitFor({ state: 'visible' });
    return row;
  }

  /** Runs a command from the palette by its full title ("Zavhoz: Show Log"). */
  async runCommand(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await this.page.locator('.monaco-workbench').focus();
    await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const exact = this.page.locator('.quick-input-list .monaco-list-row', {
      has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
    }).first();
    await exact.waitFor({ state: 'visible' });
    await exact.click();
    // Done when the palette closed, or when the command opened its own QuickPick/InputBox in the same widget.
    const deadline = Date.now() + UI_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!(await input.isVisible()) || !(await input.inputValue().catch(() => '')).startsWith('>')) return;
      await this.page.waitForTimeout(100);
    }
    throw new Error(`the command palette still shows "${title}" after choosing it`);
  }

  /** Closes every editor and panel tab ("View: Close All Editors"). */
  async closeEditors(): Promise<void> {
    await this.runCommand('View: Close All Editors');
  }

  /**
   * Answers an open InputBox or QuickPick with `text` and Enter, once the widget shows `expected` (its title or
   * prompt): multi-step flows reuse the widget, and typing into the previous step would answer it twice.
   */
  async answerQuickInput(expected: string | RegExp, text: string): Promise<void> {
    await this.waitForQuickInput(expected);
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.fill(text);
    await input.press('Enter');
  }

  /** Waits until the quick-input widget shows `expected` in its title, prompt or items. */
  async waitForQuickInput(expected: string | RegExp): Promise<void> {
    await this.page.locator('.quick-input-widget', { hasText: expected }).waitFor({ state: 'visible' });
  }

  /**
   * The notification that contains `text`: its toast while one is shown (hovered, so VS Code keeps it), else its entry
   * in the Notification Center. VS Code hides a toast 10–15 s after it came while the window has focus, and shows no
   * toast for one that came in a burst, so a test that got there late still finds it where a person would look. The
   * center is opened once no toast came within `toastWaitMs`; both places are watched until `timeoutMs`.
   */
  async findNotification(text: string | RegExp, { toastWaitMs = 15_000, timeoutMs = 2 * UI_TIMEOUT_MS } = {}): Promise<Locator> {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    const entry = this.page.locator('.notifications-center .notification-list-item', { hasText: text }).first();
    const started = Date.now();
    let centerOpened = false;
    while (Date.now() - started < timeoutMs) {
      if (await toast.isVisible()) {
        // Hovered, VS Code keeps the toast; it may have gone just now, then the center has it.
        if (await toast.hover({ timeout: 5_000 }).then(() => true, () => false)) return toast;
      }
      if (await entry.isVisible()) return entry;
      if (!centerOpened && Date.now() - started >= toastWaitMs) {
        await this.runCommand('Notifications: Show Notifications');
        centerOpened = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no notification containing ${String(text)} within ${timeoutMs / 1000} s, as a toast or in the Notification Center`);
  }

  /** Clicks a button of the notification that contains `text` (its toast, or its entry in the Notification Center). */
  async clickNotificationButton(text: string | RegExp, button: string): Promise<void> {
    const notification = await this.findNotification(text);
    await notification.locator('.monaco-button', { hasText: button }).first().click();
    await this.closeNotificationCenter();
  }

  /** Closes the Notification Center if `findNotification` opened it: while it is open VS Code shows no toasts. */
  async closeNotificationCenter(): Promise<void> {
    const center = this.page.locator('.notifications-center.visible');
    if (!(await center.isVisible())) return;
    await center.focus().catch(() => undefined);
    await this.page.keyboard.press('Escape');
    await center.waitFor({ state: 'hidden' }).catch(() => undefined);
  }

  /** Picks the row of the open QuickPick whose text contains `text`. */
  async pickQuickItem(text: string | RegExp): Promise<void> {
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
    await row.waitFor({ state: 'visible' });
    await row.click();
  }

  /**
   * The content of the visible webview panel: VS Code puts each webview in an outer iframe (its host page) with
   * the extension's document in an inner `#active-frame`.
   */
  webview(): FrameLocator {
    return this.page.locator('iframe.webview.ready').filter({ visible: true }).first()
      .contentFrame().locator('iframe#active-frame').contentFrame();
  }

  /** The extension's status-bar item (text as shown, codicons dropped). */
  statusBarItem(): Locator {
    return this.page.locator('.part.statusbar .statusbar-item[id="zavhoz.zavhoz.zavhoz.status"]');
  }

  /** The status-bar text once it matches `pattern`. */
  async waitForStatusBar(pattern: RegExp, timeoutMs = UI_TIMEOUT_MS): Promise<string> {
    const item = this.statusBarItem();
    await item.filter({ hasText: pattern }).waitFor({ state: 'visible', timeout: timeoutMs });
    return (await item.innerText()).trim();
  }

  /** The text of the output panel's visible editor (a log channel after "Show Log"). */
  async outputText(): Promise<string> {
    return this.editorLines(this.page.locator('.part.panel .monaco-editor .view-lines').first());
  }

  /**
   * The lines an editor shows (its `.view-lines`), top to bottom, with plain spaces. Not `innerText`: the editor
   * reuses its line elements when it renders again (a document that grew while open), so their order in the page
   * need not be the lines' order (a CI run read a run log's last line first); each line's `top` gives its place.
   */
  async editorLines(viewLines: Locator): Promise<string> {
    // (Typed by hand: the tests' TypeScript has no DOM library.)
    type ViewLine = { style: { top: string }; textContent: string | null };
    const lines = await viewLines.locator('.view-line').evaluateAll((elements) =>
      elements.map((element) => {
        const line = element as unknown as ViewLine;
        return { top: Number.parseFloat(line.style.top) || 0, text: line.textContent ?? '' };
      }),
    );
    // Empty lines are left out, as `innerText` leaves them (the assertions were written against it). The editor
    // renders spaces as non-breaking spaces.
    return lines
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text)
      .filter((text) => text.length > 0)
      .join('\n')
      .replace(/\u00a0/g, ' ');
  }

  /** The output panel's text once it matches `pattern`: the channel's editor fills in a moment after it opens. */
  async waitForOutputText(pattern: RegExp, timeoutMs = UI_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.outputText().catch(() => '');
      if (pattern.test(text)) return text;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`the output panel did not show ${String(pattern)} within ${timeoutMs / 1000} s; it shows:\n${text.slice(-2_000)}`);
  }

  /**
   * Where `needle` occurs in the page and all its frames (webviews included): text, attributes and field values,
   * shadow DOM included. Empty when it is nowhere, which is what a secret value must be.
   */
  async findInPage(needle: string): Promise<string[]> {
    const found: string[] = [];
    for (const frame of this.page.frames()) {
      const places = await frame.evaluate<string[]>(findInFrameScript(needle)).catch(() => []);
      const where = frame === this.page.mainFrame() ? 'workbench' : frame.url().replace(/[?#].*$/, '').split('/').slice(-1)[0];
      found.push(...places.map((place) => `${where}: ${place}`));
    }
    return found;
  }

  /**
   * "Developer: Reload Window": the workbench shuts down in order (saving editor and webview state to its
   * storage), then restores editors and panels; the extension host restarts. A browser reload (F5) skips the
   * orderly shutdown and may restore older state.
   */
  async reload(): Promise<void> {
    const navigated = this.page.waitForEvent('framenavigated', { predicate: (frame) => frame === this.page.mainFrame() });
    await this.runCommand('Developer: Reload Window');
    await navigated;
    await this.waitForWorkbench();
  }

  /**
   * Keys of the workbench's persisted storage (the browser's IndexedDB, where the web workbench keeps editor and
   * webview state) whose value contains `needle`. Read after `reload()`, which flushes it.
   */
  async storedStateContaining(needle: string): Promise<string[]> {
    return this.page.evaluate<string[]>(`(async (needle) => {
      const found = [];
      for (const info of await indexedDB.databases()) {
        if (!info.name) continue;
        const database = await new Promise((resolve, reject) => {
          const request = indexedDB.open(info.name);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        for (const store of Array.from(database.objectStoreNames)) {
          const entries = database.transaction(store, 'readonly').objectStore(store);
          const [keys, values] = await Promise.all([entries.getAllKeys(), entries.getAll()].map((request) =>
            new Promise((resolve, reject) => { request.onsuccess = () => resolve(request.result); request.onerror = () => reject(request.error); })));
          keys.forEach((key, index) => {
            const value = values[index];
            const text = typeof value === 'string' ? value : JSON.stringify(value);
            if (text !== undefined && text.includes(needle)) found.push(info.name + '/' + store + '/' + String(key));
          });
        }
        database.close();
      }
      return found;
    })(${JSON.stringify(needle)})`);
  }

  /** Saves a screenshot of the page (or of `part` only) to test-results/<name>.png and returns its path. */
  async screenshot(name: string, part?: Locator): Promise<string> {
    mkdirSync(RESULTS_FOLDER, { recursive: true });
    const file = path.join(RESULTS_FOLDER, `${name}.png`);
    if (part) await part.screenshot({ path: file });
    else await this.page.screenshot({ path: file });
    return file;
  }

  /**
   * Leaves the workbench the way a closing tab does, so it flushes its storage (webview state included) to the
   * browser profile, then closes the browser.
   */
  async close(): Promise<void> {
    await this.page.goto('about:blank', { timeout: 15_000 }).catch(() => undefined);
    await this.context.close();
  }
}
