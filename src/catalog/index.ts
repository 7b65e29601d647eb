export * from './catalog.js';
export * from './directory.js';
export * from './duration.js';
export * from './errors.js';
export * from './check.js';
export { contentVersion } from './hash.js';
export { loadCatalog, loadDirectory } from './load.js';
export * from './documents.js';
export { watchFiles, type DirectoryWatcher, type FileWatch, type WatchDirectory, type WatchOptions } from './watch.js';
