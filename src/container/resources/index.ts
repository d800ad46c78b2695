// Resource limits: what the host's cgroups can do, create-time checks with
// dockerd's warnings and errors, the OCI spec's linux.resources, and OOM kills.
export { cgroupSupport, cgroupInfoWarnings, detectCgroupSupport, type CgroupSupport } from './cgroup-support.js';
export { verifyResources, parseCpuList } from './verify.js';
export { ociResources, type OciResources } from './oci.js';
export { oomKilled, watchOomNote } from './oom.js';
