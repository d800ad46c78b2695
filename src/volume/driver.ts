// The contract between the volume store and a volume driver (the `local`
// driver today). The store owns names, labels, references and events; a
// driver only keeps data somewhere and makes it reachable on the host.

export interface VolumeDriver {
  readonly name: string;
  /** Checks the options before anything is made (InvalidParameterError on bad ones). */
  validate(options: Record<string, string>): void;
  /** Makes the volume; an existing one is left as it is. */
  create(name: string, options: Record<string, string>): Promise<void>;
  /** Deletes the volume and its data. */
  remove(name: string): Promise<void>;
  /** Volumes this driver holds (startup reconciles the store with it). */
  list(): Promise<string[]>;
  /** The host path of the data (inspect's Mountpoint). */
  path(name: string): string;
  /** Makes the data reachable at path() for `ref` (a container); returns the path. */
  mount(name: string, ref: string): Promise<string>;
  /** Drops `ref`; the last one out releases whatever mount() set up. */
  unmount(name: string, ref: string): Promise<void>;
  /**
   * A directory on the same filesystem as path(), invisible inside the
   * volume, where a copy-up can be prepared and then renamed onto path().
   * Undefined when the data is a mount of its own (then copy-up works in place).
   */
  stagingPath(name: string): string | undefined;
  /** Bytes of data, or -1 when unknown. */
  usage(name: string): Promise<number>;
}
