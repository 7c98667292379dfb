// Types of kiln-sync.js: a Kiln model kept in IndexedDB, synced with a
// registry, predicting offline.

/** The subset of @tensorflow/tfjs that kiln-sync and clients/text/kiln-preprocess.js use. */
export interface TfLike {
  loadLayersModel(handler: unknown): Promise<unknown>;
  /** int32 ids for article models, float32 TF-IDF features for tfidf ones. */
  tensor2d(values: unknown, shape: [number, number], dtype: 'int32' | 'float32'): unknown;
}

export interface KilnSyncOptions {
  /** The registry's HTTP address, e.g. "https://models.example.com"; "/" = this page's origin. */
  baseUrl: string;
  /** Model name, e.g. "news". */
  model: string;
  /** Alias to follow. Default "latest". */
  alias?: string;
  /** The @tensorflow/tfjs module or global. */
  tf: TfLike;
  /** Versions of this alias to keep in storage, the one in use included. Default 2. */
  keep?: number;
  /** IndexedDB database name (also names the Web Locks and the BroadcastChannel). Default "kiln-sync". */
  dbName?: string;
  /** fetch to use. Default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** docs/bundle.md, manifest.json. */
export interface BundleManifest {
  format: 'kiln-bundle';
  /** 2: the only format this library reads (format 1 bundles are refused). */
  format_version: 2;
  classes: string[];
  preprocessing: { spec_version: string; max_length: number; vocab_size: number; vocab_sha256: string };
  model: Record<string, unknown>;
  metrics: Record<string, number>;
  lineage: Record<string, unknown>;
  files: { path: string; size: number; sha256: string }[];
}

export interface CurrentVersion {
  version: number;
  manifest: BundleManifest;
  /** e.g. {"recall@1": 0.87, "recall@3": 0.96, "recall@5": 0.99, "accuracy": 0.87} */
  metrics: Record<string, number>;
}

export type SyncStatus = 'up-to-date' | 'updating' | 'failed' | 'offline';

export interface SyncState {
  /** navigator.onLine */
  online: boolean;
  /** 'updating' while a check or download runs. */
  status: SyncStatus;
  /** The version in use, null before the first one. */
  version: number | null;
  /** Why the last sync failed (status 'failed' only); the version in use stays. */
  error: string | null;
  /** Set with `error` when the new version did not fit in the storage the browser grants. */
  quotaExceeded: QuotaExceeded | null;
}

/**
 * A version refused for lack of space (an IndexedDB write failed with
 * QuotaExceededError). Its files stored before that were deleted again.
 */
export interface QuotaExceeded {
  /** The version that did not fit. */
  version: number;
  /** Bytes of its files that were not already stored. */
  bytesNeeded: number;
  /** navigator.storage.estimate() right after the failure; null if the browser does not say. */
  usage: number | null;
  quota: number | null;
}

/** KilnSync.storage(): what the browser reports (estimates, not exact). */
export interface StorageReport {
  usage: number | null;
  quota: number | null;
  /** navigator.storage.persisted() */
  persisted: boolean | null;
}

export interface VersionEventDetail extends CurrentVersion {
  previous: number | null;
  /**
   * 'storage' when loaded at start, 'network' after a download, 'other-tab'
   * when another tab of the same alias downloaded it and this one loaded it
   * from storage.
   */
  source: 'storage' | 'network' | 'other-tab';
}

export interface ProgressEventDetail {
  /** The version being downloaded. */
  version: number;
  /** The file being (or just) downloaded; null before the first. */
  file: string | null;
  filesDone: number;
  /** Files to download: only those not already stored. */
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface Prediction {
  label: string;
  probability: number;
}

export interface KilnSyncEventMap {
  state: CustomEvent<SyncState>;
  version: CustomEvent<VersionEventDetail>;
  progress: CustomEvent<ProgressEventDetail>;
}

export class KilnSync extends EventTarget {
  constructor(options: KilnSyncOptions);
  readonly current: CurrentVersion | null;
  readonly state: SyncState;
  /** Loads the stored version, syncs when online, and again on every 'online' event. */
  start(): Promise<CurrentVersion | null>;
  /**
   * One check of the alias; never rejects once started (failures are in the
   * state). Waits while another tab syncs the same alias (Web Locks).
   */
  sync(): Promise<SyncState>;
  /** This origin's storage usage, quota and persistence, as the browser reports them. */
  storage(): Promise<StorageReport>;
  /** Top k classes (default 5); throws before a model is loaded. */
  predict(text: string, k?: number): Prediction[];
  close(): void;
  addEventListener<K extends keyof KilnSyncEventMap>(
    type: K, listener: (event: KilnSyncEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(
    type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof KilnSyncEventMap>(
    type: K, listener: (event: KilnSyncEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(
    type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
