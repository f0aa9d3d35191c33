# vaultd-1 of the compose cluster (compose.yaml).
storage "raft" {
  path    = "/vault/data"
  node_id = "vaultd-1"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/vault/tls/vaultd.crt"
  tls_key_file    = "/vault/tls/vaultd.key"
  telemetry {
    unauthenticated_metrics_access = true
  }
}

api_addr     = "https://vaultd-1:8200"
cluster_addr = "https://vaultd-1:8201"
log_level    = "info"
log_format   = "json"

audit "file" "file/" {
  options {
    file_path = "/vault/audit/audit.log"
  }
}
