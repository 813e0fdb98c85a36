// The HTTP client: every call carries the signed-in API key, and every failure becomes an ApiError
// whatever shape the server answered in (the modserv envelope, RFC 7807 problem details, or plain text).

const KEY_STORAGE = "mss.apiKey";

export function getApiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

/** Stores the key; `remember` keeps it across browser restarts (localStorage), otherwise for this tab only. */
export function setApiKey(key: string | null, remember = false): void {
  sessionStorage.removeItem(KEY_STORAGE);
  localStorage.removeItem(KEY_STORAGE);
  if (key) (remember ? localStorage : sessionStorage).setItem(KEY_STORAGE, key);
}

/** One problem with one field or JSON path. `activityId` is set for workflow-definition problems on a step. */
export interface FieldError {
  field: string;
  message: string;
  activityId?: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly errors: FieldError[];
  readonly body: unknown;

  constructor(status: number, message: string, errors: FieldError[] = [], body?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    this.body = body;
  }

  /** The first error for a field (exact name, or a JSON path ending in it). */
  forField(field: string): string | undefined {
    const f = field.toLowerCase();
    return this.errors.find((e) => {
      const n = e.field.toLowerCase();
      return n === f || n.endsWith("." + f) || n === "$." + f;
    })?.message;
  }
}

/** Any thrown value as an ApiError (a network failure or a bug keeps its message). */
export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, e instanceof Error ? e.message : String(e));
}

/** Normalizes an error body: envelope {code,message,errors[{field,message}]} or problem {title,detail,errors[{path,message,activityId}]}. */
export function toApiError(status: number, body: unknown, fallback: string): ApiError {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const rawErrors = Array.isArray(b.errors) ? (b.errors as Record<string, unknown>[]) : [];
    const errors: FieldError[] = rawErrors.map((e) => ({
      field: String(e.field ?? e.path ?? ""),
      message: String(e.message ?? ""),
      activityId: (e.activityId as string | null | undefined) ?? null,
    }));
    const message =
      (typeof b.message === "string" && b.message) ||
      (typeof b.detail === "string" && b.detail) ||
      (typeof b.title === "string" && b.title) ||
      fallback;
    return new ApiError(status, message, errors, body);
  }
  if (typeof body === "string" && body.trim()) return new ApiError(status, body.trim().slice(0, 500));
  return new ApiError(status, fallback);
}

function statusText(status: number): string {
  switch (status) {
    case 401:
      return "Sign in with an API key.";
    case 403:
      return "Your key's role does not allow this.";
    case 404:
      return "Not found.";
    case 502:
    case 503:
    case 504:
      return `The server cannot be reached (HTTP ${status} from a proxy in between). Is model-serve-shim running?`;
    default:
      return status >= 500 ? `The server failed (HTTP ${status}).` : `The request failed (HTTP ${status}).`;
  }
}

type Listener = (status: number) => void;
const authListeners = new Set<Listener>();

/** Called with 401 whenever the server rejects the stored key, so the app can ask for another. */
export function onAuthFailure(listener: Listener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Raw text body (sent as application/json unless contentType says otherwise). */
  text?: string;
  contentType?: string;
  signal?: AbortSignal;
}

/** Calls the API and returns the parsed JSON; the modserv envelope's `data` is unwrapped. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const key = getApiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let body: BodyInit | undefined;
  if (options.text !== undefined) {
    body = options.text;
    headers["Content-Type"] = options.contentType ?? "application/json";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }

  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? "GET", headers, body, signal: options.signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "The server cannot be reached. Is model-serve-shim running?");
  }

  const raw = await response.text();
  let parsed: unknown = raw;
  if (raw && (response.headers.get("Content-Type") ?? "").includes("json")) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = raw;
    }
  }

  if (!response.ok) {
    if (response.status === 401) authListeners.forEach((l) => l(401));
    throw toApiError(response.status, parsed, statusText(response.status));
  }
  if (parsed && typeof parsed === "object" && "code" in parsed && "data" in parsed) {
    const envelope = parsed as { code: number; data: T; message?: string };
    if (envelope.code !== 0) throw toApiError(envelope.code, parsed, statusText(envelope.code));
    return envelope.data;
  }
  return parsed as T;
}

/** The URL of a server-sent-events stream; EventSource cannot send headers, so the key goes as access_token. */
export function streamUrl(path: string): string {
  const key = getApiKey();
  if (!key) return path;
  return path + (path.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(key);
}
