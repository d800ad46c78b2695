import type { ContainerSummary, ImageSummary } from './engine.js';

// Engine API wire types of /volumes and /system/df (API v1.47).

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  /** RFC 3339, seconds precision, like dockerd. */
  CreatedAt: string;
  Status?: Record<string, unknown>;
  Labels: Record<string, string> | null;
  Scope: 'local' | 'global';
  Options: Record<string, string> | null;
  /** Only in /system/df: bytes used (-1 unknown) and how many containers use it. */
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeCreateOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeListResponse {
  Volumes: Volume[];
  Warnings: string[] | null;
}

export interface VolumePruneResponse {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}

export interface SystemDfResponse {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: ContainerSummary[];
  Volumes: Volume[];
  BuildCache: unknown[];
}
