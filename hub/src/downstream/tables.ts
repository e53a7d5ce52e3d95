export interface DownstreamChannelsTable {
  channel: string;
  last_seq: number;
}

export interface DownstreamLogTable {
  channel: string;
  seq: number;
  type: string;
  payload: string;
  created_at: number;
}

export interface DownstreamTables {
  downstream_channels: DownstreamChannelsTable;
  downstream_log: DownstreamLogTable;
}
