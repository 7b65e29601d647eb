import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** A directory watch as `fs.watch` returns it (the part used here); tests pass a fake. */
export interface DirectoryWatcher {
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export type WatchDirectory = (directory: string, listener: (event: string, filename: string | null) => void) => DirectoryWatcher;

export interface WatchOptions {
  /** Events within this long of each other make one `onChange` (an editor's save is several). Default 200. */
  readonly debounceMs?: number;
  /** After a watch fails (its directory was removed or replaced), try again this often. Default 2000. */
  readonly rearmMs?: number;
  readonly onError?: (error: unknown, directory: string) => void;
  readonly watchDirectory?: WatchDirectory;
}

/** Stops watching. */
export interface FileWatch {
  close(): void;
}

const watchWithFs: WatchDirectory = (directory, listener) => watch(directory, { persistent: false }, listener);

/**
 * Calls `onChange` (debounced) when any of `files` may have changed. It watches the directories the
 * files are in, not the files: an editor that saves by writing a new file and renaming it over the
 * old one (vim, most IDEs) replaces the inode a file watch holds, and a Kubernetes ConfigMap volume
 * swaps a `..data` symlink beside the files. Events name the file (or `..something`, or nothing), so
 * other files in the same directory do not trigger. A failed watch is re-armed and then reports a
 * change, since one may have been missed in between. `onChange` may be called when nothing changed:
 * the caller compares contents.
 */
export function watchFiles(files: readonly string[], onChange: () => void, options: WatchOptions = {}): FileWatch {
  const debounceMs = options.debounceMs ?? 200;
  const rearmMs = options.rearmMs ?? 2000;
  const watchDirectory = options.watchDirectory ?? watchWithFs;
  const byDirectory = new Map<string, Set<string>>();
  for (const file of files) {
    const absolute = resolve(file);
    const names = byDirectory.get(dirname(absolute)) ?? new Set<string>();
    names.add(basename(absolute));
    byDirectory.set(dirname(absolute), names);
  }

  let closed = false;
  let debounce: NodeJS.Timeout | undefined;
  const watchers = new Map<string, DirectoryWatcher>();
  const rearms = new Set<NodeJS.Timeout>();

  const changed = (): void => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      if (!closed) onChange();
    }, debounceMs);
    debounce.unref();
  };

  const rearmLater = (directory: string, names: ReadonlySet<string>): void => {
    if (closed) return;
    const timer = setTimeout(() => {
      rearms.delete(timer);
      if (arm(directory, names)) changed();
    }, rearmMs);
    timer.unref();
    rearms.add(timer);
  };

  function arm(directory: string, names: ReadonlySet<string>): boolean {
    if (closed) return false;
    try {
      const watcher = watchDirectory(directory, (_event, filename) => {
        if (filename === null || names.has(filename) || filename.startsWith('..')) changed();
      });
      watcher.on('error', (error) => {
        options.onError?.(error, directory);
        watcher.close();
        watchers.delete(directory);
        rearmLater(directory, names);
      });
      watchers.set(directory, watcher);
      return true;
    } catch (error) {
      options.onError?.(error, directory);
      rearmLater(directory, names);
      return false;
    }
  }

  for (const [directory, names] of byDirectory) arm(directory, names);

  return {
    close: () => {
      closed = true;
      clearTimeout(debounce);
      for (const timer of rearms) clearTimeout(timer);
      rearms.clear();
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
