/** The in-store quota policy of one warehouse: targets of selling rights per SKU. */
export interface QuotaPoliciesTable {
  warehouse_id: string;
  policy_json: string;
  updated_at: number;
  updated_by: string;
}

/**
 * Every move of selling rights the hub asked for: a grant (rights already counted in the partition's
 * `edge_quota` when the row is written) or a return request (rights counted out only when the edge's
 * `quota_return` event arrives). `open` until answered; unanswered return requests stop counting
 * after `limits.quotaReturnRequestTtlMs`.
 */
export interface QuotaMovesTable {
  id: string;
  warehouse_id: string;
  sku: string;
  kind: string;
  quantity: number;
  /** open | answered */
  status: string;
  answered_quantity: number | null;
  actor: string;
  created_at: number;
  answered_at: number | null;
}

export interface QuotaTables {
  quota_policies: QuotaPoliciesTable;
  quota_moves: QuotaMovesTable;
}
