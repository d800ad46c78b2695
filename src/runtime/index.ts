export { OciRuntime, cleanRuntimeMessage, type RuntimeState } from './oci-runtime.js';
export { chooseRuntime, availableRuntimes, detectCgroupLayout, findExecutable, type CgroupLayout, type RuntimeChoice } from './select.js';
export { launchConmon, liveConmonPid, resizeTty, reopenLog, connectStdin, CONMON_PID_FILE, CONTAINER_PID_FILE, type ConmonOptions } from './conmon.js';
export { ConmonTaskService, type ConmonTaskServiceOptions } from './conmon-tasks.js';
export type { TaskService, TaskCreateOptions, RecoveredTask, StdinSink, ExitListener, OomListener, ExecOptions, ExecProcess, TaskResources } from './task.js';
export { readTaskStats, cgroupDirs, type TaskStats } from './cgroup-stats.js';
