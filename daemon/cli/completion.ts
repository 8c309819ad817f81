import { type Command, CliError } from './command.js';
import { GLOBAL_OPTIONS, groupCommands, topLevel } from './help.js';

/** The shells `zavhoz completion` writes a script for. */
export const SHELLS = ['bash', 'zsh'] as const;

function flagsOf(command: Command): string[] {
  return Object.keys({ ...command.options, ...GLOBAL_OPTIONS }).map((name) => `--${name}`);
}

/** Quotes a word list for a shell `echo` in single quotes (the table holds no single quotes; refuse if it ever does). */
function words(list: readonly string[]): string {
  const text = list.join(' ');
  if (text.includes("'")) throw new Error(`A completion word holds a quote: ${text}`);
  return `'${text}'`;
}

/**
 * The shell function both scripts share: given the word being completed and the words before it (without the
 * program name), it prints the candidates, or `__files__` when file names fit. POSIX syntax that bash and zsh both
 * read the same way (positional parameters instead of arrays, whose indexing differs).
 */
function resolver(commands: readonly Command[]): string {
  const { groups, single } = topLevel(commands);
  const valued = new Map<string, readonly string[] | undefined>();
  for (const command of commands) {
    for (const [name, option] of Object.entries(command.options ?? {})) {
      if (option.type === 'string' && !valued.get(`--${name}`)) valued.set(`--${name}`, option.choices);
    }
  }
  const choiceCases = [...valued].flatMap(([flag, choices]) => (choices ? [`    ${flag}) echo ${words(choices)} ;;`] : []));
  const commandCases = commands.map((command) => {
    const complete = command.complete === 'file' ? "echo __files__; return" : command.complete ? `echo ${words(command.complete)}; return` : 'return';
    return `    '${command.path.join(' ')}')\n      if [ "$flag" = 1 ]; then echo ${words(flagsOf(command))}; return; fi\n      ${complete} ;;`;
  });
  const groupCases = groups.map((group) => `    ${group}) [ "$count" -le 1 ] && { echo ${words(groupCommands(commands, group).map((command) => command.path.slice(1).join(' ')))}; return; }\n      key="$first $second" ;;`);
  return `__zavhoz_candidates() {
  local cur="$1" word skip="" count=0 first="" second="" key="" flag=0
  shift
  for word in "$@"; do
    if [ -n "$skip" ]; then skip=""; continue; fi
    case "$word" in
      ${[...valued.keys()].sort().join('|')}) skip="$word" ;;
      -*) ;;
      *) count=$((count + 1))
        if [ "$count" = 1 ]; then first="$word"; elif [ "$count" = 2 ]; then second="$word"; fi ;;
    esac
  done
  # The word being completed is the value of a flag that takes one.
  if [ -n "$skip" ]; then
    case "$skip" in
${choiceCases.join('\n')}
      *) echo __files__ ;;
    esac
    return
  fi
  case "$cur" in -*) flag=1 ;; esac
  case "$first" in
    '')
      if [ "$flag" = 1 ]; then echo '--help --version'; else echo ${words([...groups, ...single.map((command) => command.path.join(' ')), 'help'])}; fi
      return ;;
${groupCases.join('\n')}
    help) [ "$count" -le 1 ] && echo ${words(groups)}; return ;;
    *) key="$first" ;;
  esac
  case "$key" in
${commandCases.join('\n')}
  esac
}`;
}

/** A bash completion script for the commands, groups and flags of `commands`. */
export function bashCompletion(commands: readonly Command[]): string {
  return `# bash completion for zavhoz. Load it with: source <(zavhoz completion bash)
${resolver(commands)}
_zavhoz() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" reply
  reply=$(__zavhoz_candidates "$cur" "\${COMP_WORDS[@]:1:COMP_CWORD-1}")
  if [ "$reply" = __files__ ]; then
    compopt -o default 2>/dev/null
    COMPREPLY=()
    return 0
  fi
  local IFS=$' \\t\\n'
  COMPREPLY=($(compgen -W "$reply" -- "$cur"))
}
complete -F _zavhoz zavhoz
`;
}

/** A zsh completion script for the commands, groups and flags of `commands`. */
export function zshCompletion(commands: readonly Command[]): string {
  return `#compdef zavhoz
# zsh completion for zavhoz. Load it with: source <(zavhoz completion zsh)   (after compinit)
${resolver(commands)}
_zavhoz() {
  local reply
  reply=$(__zavhoz_candidates "\${words[CURRENT]}" "\${(@)words[2,CURRENT-1]}")
  if [[ "$reply" == __files__ ]]; then
    _files
    return
  fi
  compadd -- \${=reply}
}
compdef _zavhoz zavhoz
`;
}

/** `zavhoz completion bash|zsh`, generated from `table()` (the whole command table, this command included). */
export function completionCommand(table: () => readonly Command[]): Command {
  return {
    path: ['completion'],
    usage: 'zavhoz completion bash|zsh',
    summary: 'Print a shell completion script for commands, groups and flags.',
    examples: ['source <(zavhoz completion bash)      # in ~/.bashrc', 'source <(zavhoz completion zsh)       # in ~/.zshrc, after compinit'],
    positionals: [1, 1],
    complete: SHELLS,
    run(context) {
      const shell = context.positionals[0] ?? '';
      if (shell === 'bash') process.stdout.write(bashCompletion(table()));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(table()));
      else throw new CliError(`No completion for "${shell}": choose one of ${SHELLS.join(', ')}.`, 2);
      return Promise.resolve();
    },
  };
}
