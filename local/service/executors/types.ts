/** How the local service runs the container's entrypoints: as host processes or as podman containers. */

export interface HostSpec {
  /** The container entrypoint to run (`train`, `serve`, `prepare`). */
  entry: 'train' | 'serve' | 'prepare';
  /**
   * A Processing job's AppSpecification: ContainerEntrypoint replaces the image's entrypoint and ContainerArguments
   * follow it (`docker run --entrypoint <entrypoint> <image> <arguments>`); without it the entrypoint runs `entry`.
   */
  command?: { entrypoint?: string[]; args?: string[] };
  /** This host's /opt/ml tree (SAGEMAKER_BASE_DIR). */
  baseDir: string;
  /** Extra environment (the resource's Environment, ports, coordinator address). */
  env: Record<string, string>;
  /** The image the resource names (used by the container executor). */
  image?: string;
  /** A unique label such as `my-job/algo-1`, used for pid files. */
  label: string;
  /** Called for every line the host prints (stdout and stderr). */
  onLine: (line: string) => void;
}

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HostHandle {
  pid: number;
  exited: Promise<HostExit>;
  /** Signals the host (its whole process group). */
  kill(signal: NodeJS.Signals): void;
}

export interface Executor {
  readonly kind: 'process' | 'container';
  start(spec: HostSpec): HostHandle;
}
