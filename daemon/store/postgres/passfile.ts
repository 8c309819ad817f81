import fs from 'node:fs';
import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';

/** Who logs in where, to find the matching line of a password file. */
export interface PassfileQuery {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Splits one line of a password file at unescaped colons, unescaping `\:` and `\\`. */
function fieldsOf(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let index = 0; index < line.length; index++) {
    const char = line.charAt(index);
    if (char === '\\' && index + 1 < line.length) {
      current += line.charAt(++index);
    } else if (char === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  fields.push(current);
  return fields;
}

/**
 * Reads the password for `query` from a PostgreSQL password file (`host:port:database:user:password`, `*` matches
 * anything), as libpq reads PGPASSFILE. Like libpq, a file that others may read is refused: it holds a password.
 * The password is returned to the driver only, never logged or put in an error.
 */
export function passwordFromFile(file: string, query: PassfileQuery): string {
  let text: string;
  try {
    const mode = fs.statSync(file).mode;
    if ((mode & 0o077) !== 0) {
      throw new ZavhozError(
        ErrorCodes.StoreUnavailable,
        `The password file ${file} may be read by other users: run chmod 600 on it (PostgreSQL's tools refuse such a file too).`,
      );
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ZavhozError) throw error;
    throw new ZavhozError(ErrorCodes.StoreUnavailable, `Cannot read the password file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}). Check that it exists and is yours.`);
  }
  const wanted = [query.host, String(query.port), query.database, query.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = fieldsOf(line);
    if (fields.length !== 5) continue;
    if (wanted.every((value, index) => fields[index] === '*' || fields[index] === value)) return fields[4] ?? '';
  }
  throw new ZavhozError(
    ErrorCodes.StoreUnavailable,
    `The password file ${file} has no line for ${query.user} at ${query.host}:${query.port}/${query.database} (host:port:database:user:password).`,
  );
}
