// The Dockerfile builder (the classic builder behind POST /build).
export { Builder, buildErrorMessage, type BuildOptions, type BuildCacheRecord, type PruneResult } from './builder.js';
export type { StepResources } from './run-step.js';
export type { BuilderDeps, BuildImages } from './backend.js';
export { containerStepRunner, type StepContainers, type StepRunner } from './run-step.js';
export { parseStages, type Dockerfile, type Stage, type Command } from './instructions.js';
export { DockerfileParseError } from './parser.js';
export { PatternMatcher, readDockerignore } from './dockerignore.js';
