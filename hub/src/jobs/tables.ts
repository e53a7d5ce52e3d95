/** A long-running job (0032): its progress, outcome and heartbeat. */
export interface JobsTable {
  id: string;
  kind: string;
  /** running | succeeded | failed */
  status: string;
  done: number;
  total: number;
  result_json: string | null;
  error_json: string | null;
  /** The client or staff id that started it. */
  created_by: string;
  created_at: number;
  /** Last progress or heartbeat: a running job whose `updated_at` is stale lost its instance. */
  updated_at: number;
  finished_at: number | null;
}

export interface JobTables {
  jobs: JobsTable;
}
