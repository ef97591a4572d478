package store

import (
	"encoding/binary"
	"fmt"
)

// keyIntakeApplied holds the sequence number of the last intake journal
// entry applied, written in the same transaction as the entry's effects,
// so a replay after a crash applies each entry exactly once.
const keyIntakeApplied = "intake_applied"

// keyStoreID holds a random id made with the file (copies and backups keep
// it), so an intake journal can tell its own database from another.
const keyStoreID = "store_id"

func (t *tx) StoreID() (string, error) {
	v := t.bucket(bucketMeta).Get([]byte(keyStoreID))
	if len(v) == 0 {
		return "", fmt.Errorf("store: no store id")
	}
	return string(v), nil
}

func (t *tx) IntakeApplied() (uint64, error) { return t.metaU64(keyIntakeApplied) }

// metaU64 reads a big-endian counter from the meta bucket (0 when unset).
func (t *tx) metaU64(key string) (uint64, error) {
	v := t.bucket(bucketMeta).Get([]byte(key))
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("store: meta %s has %d bytes", key, len(v))
}

func (t *tx) SetIntakeApplied(seq uint64) error {
	if err := t.bucket(bucketMeta).Put([]byte(keyIntakeApplied), u64(seq)); err != nil {
		return fmt.Errorf("store: put intake mark: %w", err)
	}
	return nil
}
