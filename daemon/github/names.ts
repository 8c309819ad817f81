import { invalidInput } from '../core/errors.js';
import { GITHUB_PROJECT_PATTERN, GITHUB_SECRET_NAME_PATTERN } from '../protocol/github.js';

/** A GitHub repository as `owner/name`, split and checked. */
export interface RepositoryName {
  readonly owner: string;
  readonly name: string;
  /** `owner/name` as the user wrote it, for messages. */
  readonly fullName: string;
  /** Lowercased `owner/name`: GitHub treats repository names case-insensitively, so records are keyed by this. */
  readonly key: string;
}

const ownerPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const repositoryPattern = /^[A-Za-z0-9._-]{1,100}$/;

/** Parses `OWNER/NAME`, refusing anything GitHub would not accept as a repository. */
export function parseRepository(text: string): RepositoryName {
  const parts = text.split('/');
  const [owner, name] = parts;
  if (parts.length !== 2 || owner === undefined || name === undefined || !ownerPattern.test(owner) || !repositoryPattern.test(name) || name === '.' || name === '..') {
    throw invalidInput(`"${text}" is not a GitHub repository; write it as OWNER/NAME, e.g. octo-org/my-app.`);
  }
  return { owner, name, fullName: `${owner}/${name}`, key: `${owner}/${name}`.toLowerCase() };
}

/**
 * Checks a secret name and returns it as GitHub stores it (upper case). GitHub refuses the `GITHUB_` prefix, so it
 * is refused here with the reason rather than as an opaque 422 later.
 */
export function normaliseSecretName(name: string): string {
  if (!GITHUB_SECRET_NAME_PATTERN.test(name)) {
    throw invalidInput(`"${name}" is not a valid GitHub secret name: use letters, digits and underscores, not starting with a digit.`);
  }
  const upper = name.toUpperCase();
  if (upper.startsWith('GITHUB_')) throw invalidInput(`GitHub reserves the GITHUB_ prefix; choose another name than ${upper}.`);
  return upper;
}

/** Checks a project name before it becomes part of a server path. */
export function checkProject(project: string): string {
  if (!GITHUB_PROJECT_PATTERN.test(project)) {
    throw invalidInput(`"${project}" is not a valid project name: use letters, digits, ".", "_" and "-".`);
  }
  return project;
}
