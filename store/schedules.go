package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/klaxonhq/klaxon/escalation"
)

func (t *tx) NextOverrideID() (int64, error) {
	n, err := t.bucket(bucketOverrides).NextSequence()
	if err != nil {
		return 0, fmt.Errorf("store: next override id: %w", err)
	}
	return int64(n), nil
}

func (t *tx) PutOverride(o *escalation.Override) error {
	if err := checkID("override", o.ID); err != nil {
		return err
	}
	if err := t.put(bucketOverrides, idKey(o.ID), o); err != nil {
		return fmt.Errorf("store: put override %d: %w", o.ID, err)
	}
	return t.bumpOverridesVersion()
}

func (t *tx) DeleteOverride(id int64) error {
	if err := t.bucket(bucketOverrides).Delete(idKey(id)); err != nil {
		return fmt.Errorf("store: delete override %d: %w", id, err)
	}
	return t.bumpOverridesVersion()
}

// bumpOverridesVersion sets a fresh random version. A counter would not do:
// a rolled-back transaction could have shown its number to a cache, and the
// next committed change would reuse it with different overrides.
func (t *tx) bumpOverridesVersion() error {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("store: overrides version: %w", err)
		}
		if binary.BigEndian.Uint64(b[:]) != 0 {
			break
		}
	}
	return t.bucket(bucketMeta).Put([]byte(keyOverridesVersion), b[:])
}

func (t *tx) OverridesVersion() (uint64, error) { return t.metaU64(keyOverridesVersion) }

func (t *tx) Overrides() ([]*escalation.Override, error) {
	var out []*escalation.Override
	err := t.bucket(bucketOverrides).ForEach(func(k, v []byte) error {
		o := new(escalation.Override)
		if err := json.Unmarshal(v, o); err != nil {
			return fmt.Errorf("store: read override %d: %w", int64(binary.BigEndian.Uint64(k)), err)
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

func (t *tx) Timer(name string) (*escalation.Timer, error) {
	tm := new(escalation.Timer)
	ok, err := t.get(bucketTimers, []byte(name), tm)
	if err != nil {
		return nil, fmt.Errorf("store: read timer %q: %w", name, err)
	}
	if !ok {
		return nil, fmt.Errorf("timer %q: %w", name, escalation.ErrNotFound)
	}
	return tm, nil
}

func (t *tx) PutTimer(tm *escalation.Timer) error {
	if tm.Name == "" {
		return fmt.Errorf("store: timer without a name")
	}
	if err := t.put(bucketTimers, []byte(tm.Name), tm); err != nil {
		return fmt.Errorf("store: put timer %q: %w", tm.Name, err)
	}
	return nil
}

func (t *tx) DeleteTimer(name string) error {
	if err := t.bucket(bucketTimers).Delete([]byte(name)); err != nil {
		return fmt.Errorf("store: delete timer %q: %w", name, err)
	}
	return nil
}

// Timers lists every timer by name. There are a few per schedule, so a scan
// is cheaper than keeping a time index.
func (t *tx) Timers() ([]*escalation.Timer, error) {
	var out []*escalation.Timer
	err := t.bucket(bucketTimers).ForEach(func(k, v []byte) error {
		tm := new(escalation.Timer)
		if err := json.Unmarshal(v, tm); err != nil {
			return fmt.Errorf("store: read timer %q: %w", k, err)
		}
		out = append(out, tm)
		return nil
	})
	return out, err
}

func (t *tx) NextSilenceID() (int64, error) {
	n, err := t.bucket(bucketSilences).NextSequence()
	if err != nil {
		return 0, fmt.Errorf("store: next silence id: %w", err)
	}
	return int64(n), nil
}

func (t *tx) PutSilence(s *escalation.Silence) error {
	if err := checkID("silence", s.ID); err != nil {
		return err
	}
	if err := t.put(bucketSilences, idKey(s.ID), s); err != nil {
		return fmt.Errorf("store: put silence %d: %w", s.ID, err)
	}
	return nil
}

func (t *tx) Silences() ([]*escalation.Silence, error) {
	var out []*escalation.Silence
	err := t.bucket(bucketSilences).ForEach(func(k, v []byte) error {
		s := new(escalation.Silence)
		if err := json.Unmarshal(v, s); err != nil {
			return fmt.Errorf("store: read silence %d: %w", int64(binary.BigEndian.Uint64(k)), err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}
