// Shapes of the server's JSON (camelCase), as served by /api/v1/*.

export type ServiceState =
  | "Initializing"
  | "PipelineRunning"
  | "AwaitingApproval"
  | "Deploying"
  | "HealthChecking"
  | "Running"
  | "Degraded"
  | "Scaling"
  | "Failed"
  | "Stopping"
  | "Stopped"
  | string;

export interface ServiceSummary {
  serviceId: string;
  modelName: string;
  state: ServiceState;
  shimlet: string;
  pipeline: string;
  replicas: number;
  acceleratorType: string | null;
  acceleratorCount: number;
  endpoint: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface HistoryEntry {
  at: string;
  from: ServiceState | null;
  to: ServiceState;
  reason: string;
  operator: string;
}

export interface ServiceError {
  type: string | null;
  message: string | null;
  step: string | null;
}

export interface ServiceDetail {
  service: ServiceSummary;
  modelFile: string;
  namespace: string | null;
  request: Record<string, unknown> | null;
  instanceId: string | null;
  currentStep: string | null;
  model: Record<string, unknown> | null;
  memory: Record<string, unknown> | null;
  resourceIds: string[] | null;
  lastError: ServiceError | null;
  history: HistoryEntry[];
  /** Every change of the desired state (`request`), oldest first. */
  desiredHistory: DesiredStateEntry[];
  /** The sign-off the deploy pipeline waits for (state AwaitingApproval); null otherwise. */
  pendingApproval?: PendingApproval | null;
}

/** A signal a suspended step waits for (`POST /api/v1/workflow-instances/{id}/signals/{signal}`). */
export interface WaitingSignal {
  signal: string;
  activityId: string;
  description: string | null;
  roles: string[];
  since: string;
  timeoutAt: string | null;
}

export interface PendingApproval {
  signal: WaitingSignal;
  instanceId: string;
}

export interface DesiredStateEntry {
  generation: number;
  at: string;
  operator: string;
  change: string;
  state: Record<string, unknown> | null;
}

export interface DeployAccepted {
  serviceId: string;
  currentStep: string;
  totalSteps: string[];
}

export type StepStatus = "Pending" | "Running" | "Retrying" | "Suspended" | "Succeeded" | "Failed" | "Cancelled" | "Skipped" | string;

export interface StepAttempt {
  activityId: string;
  activityType: string;
  attempt: number;
  status: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  errorType: string | null;
  errorMessage: string | null;
  retryable: boolean | null;
  retryDelayMs: number | null;
  isFinal: boolean;
  outcome: string | null;
  output: unknown;
  input: unknown;
}

export interface PipelineStep {
  name: string;
  type: string;
  status: StepStatus;
  attempts: number;
  durationMs: number | null;
  startedAt: string | null;
  endedAt: string | null;
  outcome: string | null;
  error: ServiceError | null;
  attemptDetails: StepAttempt[];
}

export interface PipelineView {
  instanceId: string | null;
  pipeline: string;
  version: number | null;
  status: string | null;
  steps: PipelineStep[];
  /** The lifecycle operation the run belongs to. */
  operation: "Deploy" | "Scale" | "Undeploy";
}

export interface JournalEntry {
  sequence: number;
  timestamp: string;
  level: "Trace" | "Debug" | "Information" | "Warning" | "Error" | "Critical" | string;
  event: string;
  activityId: string | null;
  attempt: number | null;
  message: string;
  properties: Record<string, unknown> | null;
}

export interface PagedResult<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

// ---- Activities (the designer's palette) ----

export interface InputDescriptor {
  name: string;
  type: string; // string | integer | number | boolean | duration | object | array | json | enum ...
  options: string[] | null;
  required: boolean;
  default: unknown;
  description: string | null;
  uiHint: string | null;
}

export interface OutputDescriptor {
  name: string;
  type: string;
  description: string | null;
  /** What the output means to the control plane (endpoint, modelFacts, …), if anything. */
  kind: string | null;
}

export interface ActivityDescriptor {
  type: string;
  version: number;
  category: string;
  displayName: string;
  description: string;
  inputs: InputDescriptor[];
  outputs: OutputDescriptor[];
  outcomes: string[];
  [key: string]: unknown;
}

// ---- Workflow definitions (Elsa-3-shaped JSON) ----

export interface RetrySettings {
  maxAttempts?: number;
  delay?: string;
  backoff?: string;
  maxDelay?: string;
  jitter?: boolean;
  [key: string]: unknown;
}

export interface ActivityNode {
  id: string;
  type: string;
  version?: number;
  displayName?: string;
  inputs?: Record<string, unknown>;
  retry?: RetrySettings;
  timeout?: string;
  metadata?: { designer?: { position?: { x: number; y: number } }; [key: string]: unknown };
  [key: string]: unknown;
}

export interface Connection {
  source: { activity: string; port?: string };
  target: { activity: string; port?: string };
}

export interface WorkflowDefinition {
  definitionId: string;
  name: string;
  description?: string;
  version?: number;
  inputs?: { name: string; type: string; required?: boolean; default?: unknown; description?: string }[];
  root: { type: "Flowchart"; start?: string; activities: ActivityNode[]; connections: Connection[]; [key: string]: unknown };
  [key: string]: unknown;
}

export interface DefinitionSummary {
  definitionId: string;
  version: number;
  name: string;
  description: string | null;
  source: string;
  createdBy: string;
  createdAt: string;
  isLatest: boolean;
}

export interface ValidationError {
  path: string;
  message: string;
  activityId: string | null;
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationError[];
}

export interface WorkflowInstance {
  id: string;
  definitionId: string;
  definitionVersion: number;
  status: string;
  currentSteps: string[];
  correlationId: string | null;
  operator: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  faultedStep: string | null;
  errorType: string | null;
  errorMessage: string | null;
  resumeCount: number;
}

// ---- Plugins ----

export interface ShimletEntry {
  name: string;
  source: string; // "builtin" or "plugin:<name>"
  version: string;
  loadedAt: string;
}

export interface PipelineEntry {
  name: string;
  version: number;
  source: string;
  loadedAt: string;
}

export interface PluginInfo {
  name: string;
  version: string;
  path: string;
  loadedAt: string;
  shimlets: string[];
  activityTypes: string[];
}

export interface PluginsView {
  shimlets: ShimletEntry[];
  pipelines: PipelineEntry[];
  plugins: PluginInfo[];
}

// ---- Identity ----

export interface Me {
  name: string;
  roles: string[];
  authRequired: boolean;
}

// ---- Live events (GET /api/v1/events) ----

export interface InstanceEvent {
  instanceId: string;
  definitionId: string;
  definitionVersion: number;
  status: string;
  correlationId: string | null;
}

/** A step attempt started or ended: the attempt's own fields, plus the run it belongs to. */
export type StepEvent = Pick<
  StepAttempt,
  "activityId" | "activityType" | "attempt" | "status" | "startedAt" | "endedAt" | "durationMs" | "isFinal" | "errorType" | "errorMessage"
> & {
  instanceId: string;
  definitionId: string;
  correlationId: string | null;
};

/** One interval of a service's gateway traffic (GET /api/v1/modserv/{id}/usage). */
export interface UsagePoint {
  at: string;
  requests: number;
  errors: number;
  meanLatencyMs: number;
  promptTokens: number;
  completionTokens: number;
}

/** A service's last 10 minutes of gateway traffic, oldest first, the current (partial) interval last. */
export interface UsageSeries {
  intervalSeconds: number;
  points: UsagePoint[];
}
