// Resource limits: what the host's cgroups can do, create-time checks with
// dockerd's warnings and errors, and the OCI spec's linux.resources.
export { cgroupSupport, cgroupInfoWarnings, detectCgroupSupport, type CgroupSupport } from './cgroup-support.js';
export { verifyResources, parseCpuList } from './verify.js';
export { ociResources, type OciResources } from './oci.js';
