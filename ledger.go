package llmrouter

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/internal/ledger"
)

// ledgers holds the ledgers of the loaded configs. A ledger outlives a
// config reload, because the new config's handlers load it (Provision)
// before the old ones let it go (Cleanup), and it is released once no
// config uses it any more, as Caddy's reverse_proxy does with its hosts.
var ledgers = caddy.NewUsagePool()

// memoryLedgerKey names the in-process ledger in ledgers.
const memoryLedgerKey = "memory"

// pooledLedger is a ledger as the pool keeps it.
type pooledLedger struct{ ledger.Ledger }

// Destruct lets the ledger go; the in-process ledger has nothing to flush.
func (pooledLedger) Destruct() error { return nil }

// provisionLedger loads the handler's ledger from the pool.
func (h *LLMRouter) provisionLedger() error {
	v, _, err := ledgers.LoadOrNew(memoryLedgerKey, func() (caddy.Destructor, error) {
		return pooledLedger{ledger.NewMemory()}, nil
	})
	if err != nil {
		return err
	}
	h.ledgerKeyInPool = memoryLedgerKey
	h.ledger = v.(pooledLedger).Ledger
	return nil
}

// cleanupLedger releases the handler's hold on its ledger.
func (h *LLMRouter) cleanupLedger() error {
	if h.ledgerKeyInPool == "" {
		return nil
	}
	_, err := ledgers.Delete(h.ledgerKeyInPool)
	h.ledgerKeyInPool = ""
	return err
}

// Interface guards
var _ caddy.Destructor = pooledLedger{}
