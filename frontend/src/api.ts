// A small fetch wrapper: session cookie + CSRF header, JSON in and out,
// and errors carrying the server's JSON body ({"detail": ..., ...}).

export class ApiError extends Error {
  constructor(
    public status: number,
    public body: Record<string, unknown>,
  ) {
    super(typeof body.detail === "string" ? body.detail : `request failed (${status})`);
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api<T>(path: string, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, { detail: "cannot reach the server; check your connection" });
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: `unexpected answer from the server (${response.status})` };
  }
  if (!response.ok) {
    const obj = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
    throw new ApiError(response.status, obj);
  }
  return body as T;
}
