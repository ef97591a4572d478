package escalation

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Chat mirrors incidents into one chat platform (or another follower of
// incidents): one live message per incident, updated in place as its state
// changes, with a thread that follows the timeline. Implementations choose
// the channel (per service) and encode where the message is in ref. Post
// may return an empty ref to say there is nothing to show yet (a public
// channel and a private incident): the timeline so far is then skipped,
// and Post is asked again at the next change.
type Chat interface {
	Post(ctx context.Context, inc *Incident) (ref string, err error)
	Update(ctx context.Context, ref string, inc *Incident) error
	Reply(ctx context.Context, ref string, inc *Incident, ev Event) error
}

// Follower is an optional method of a Chat: whether a timeline entry of
// kind k changes what the chat shows. A chat without it follows every
// entry that chats mirror. A public channel or a status subscriber follows
// public updates alone, so a private incident's alerts and pages cost it
// no write and no sync.
type Follower interface {
	Follows(k EventKind) bool
}

// follows says whether chat shows a mirrored entry of kind k.
func follows(chat Chat, k EventKind) bool {
	f, ok := chat.(Follower)
	return !ok || f.Follows(k)
}

// ChatPost is the durable state of one incident's message in one chat: the
// mirror's own outbox entry. A change to the incident marks it dirty in the
// same transaction; the runner syncs dirty posts, each chat on its own, so
// a chat that is down delays only its own messages.
type ChatPost struct {
	Chat       string `json:"chat"`
	IncidentID int64  `json:"incident_id"`
	// Ref is where the message is ("" until it is posted).
	Ref string `json:"ref,omitempty"`
	// Synced counts the timeline entries looked at for the thread.
	Synced int  `json:"synced"`
	Dirty  bool `json:"dirty"`
	// Version grows with every change, so a sync that raced with a newer
	// change leaves the post dirty.
	Version   int64     `json:"version"`
	NotBefore time.Time `json:"not_before,omitzero"`
	Attempts  int       `json:"attempts,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// chatLease keeps a claimed post out of the due list while it syncs; a
// crash makes it due again when the lease ends.
const chatLease = 2 * time.Minute

// chatBackoffMax caps the wait between attempts for a chat that is down.
const chatBackoffMax = 5 * time.Minute

// mirrored says whether an entry changes what chats show. Queued and
// cancelled pages are bookkeeping: the thread gets the sent and failed
// ones.
func mirrored(k EventKind) bool {
	return k != EventPageQueued && k != EventPageCancelled
}

// update runs fn in a write transaction whose timeline entries mark the
// incident's chat posts dirty, in the same transaction.
func (e *Engine) update(ctx context.Context, fn func(Tx) error) error {
	if len(e.chats) == 0 {
		return e.store.Update(ctx, fn)
	}
	now := e.clock.Now()
	return e.store.Update(ctx, func(tx Tx) error { return fn(e.mirror(tx, now)) })
}

// updateBulk is update for a large transaction: alone in its commit where
// the store can (BulkUpdater), and told when to yield. Elsewhere yield
// never says so.
func (e *Engine) updateBulk(ctx context.Context, fn func(tx Tx, yield func() bool) error) error {
	b, ok := e.store.(BulkUpdater)
	if !ok {
		return e.update(ctx, func(tx Tx) error { return fn(tx, func() bool { return false }) })
	}
	now := e.clock.Now()
	return b.UpdateBulk(ctx, func(tx Tx, yield func() bool) error {
		return fn(e.mirror(tx, now), yield)
	})
}

// mirror wraps tx so that its timeline entries mark chat posts dirty, when
// there are chats to mirror to.
func (e *Engine) mirror(tx Tx, now time.Time) Tx {
	if len(e.chats) == 0 {
		return tx
	}
	return &mirrorTx{Tx: tx, e: e, now: now, marked: map[chatPostKey]bool{}}
}

// mirrorTx marks chat posts as timeline entries are appended.
type mirrorTx struct {
	Tx
	e      *Engine
	now    time.Time
	marked map[chatPostKey]bool
}

type chatPostKey struct {
	chat     string
	incident int64
}

func (t *mirrorTx) AppendEvent(id int64, ev Event) error {
	if err := t.Tx.AppendEvent(id, ev); err != nil {
		return err
	}
	if id <= 0 || !mirrored(ev.Kind) {
		return nil
	}
	for _, name := range t.e.chatNames {
		k := chatPostKey{name, id}
		if t.marked[k] || !follows(t.e.chats[name], ev.Kind) {
			continue
		}
		t.marked[k] = true
		p, err := t.Tx.ChatPost(name, id)
		if errors.Is(err, ErrNotFound) {
			p, err = &ChatPost{Chat: name, IncidentID: id}, nil
		}
		if err != nil {
			return err
		}
		p.Version++
		if !p.Dirty {
			p.Dirty, p.NotBefore, p.Attempts = true, t.now, 0
		}
		if err := t.Tx.PutChatPost(p); err != nil {
			return err
		}
	}
	return nil
}

// ClaimChatPosts takes up to limit due chat posts for syncing, each only
// if may agrees (nil: all), asked with how many this claim has taken so
// far of that chat and in all: so that chats that hang cannot take every
// worker from the others.
func (e *Engine) ClaimChatPosts(ctx context.Context, limit int, may func(chat string, taken, takenAll int) bool) ([]ChatPost, error) {
	if len(e.chats) == 0 || limit <= 0 {
		return nil, nil
	}
	now := e.clock.Now()
	due := false
	var taken map[string]int
	var takenAll int
	take := func(chat string) bool {
		if may != nil && !may(chat, taken[chat], takenAll) {
			return false
		}
		taken[chat]++
		takenAll++
		return true
	}
	open := func(chat string) bool { return may == nil || may(chat, 0, 0) }
	err := e.store.View(ctx, func(tx Tx) error {
		next, ok, err := tx.NextChatDue(open)
		due = ok && !next.After(now)
		return err
	})
	if err != nil || !due {
		return nil, err
	}
	var claimed []ChatPost
	err = e.store.Update(ctx, func(tx Tx) error {
		claimed, taken, takenAll = claimed[:0], map[string]int{}, 0
		posts, err := tx.DueChatPosts(now, limit, take)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if _, ok := e.chats[p.Chat]; !ok {
				// A chat no longer configured: stop trying.
				p.Dirty, p.NotBefore = false, time.Time{}
				if err := tx.PutChatPost(p); err != nil {
					return err
				}
				continue
			}
			p.NotBefore = now.Add(chatLease)
			if err := tx.PutChatPost(p); err != nil {
				return err
			}
			claimed = append(claimed, *p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim chat posts: %w", err)
	}
	return claimed, nil
}

// RetryAfter is an error that says how long to wait before trying again
// (a chat's 429 with Retry-After).
type RetryAfter interface {
	error
	RetryAfterWait() time.Duration
}

// ErrEntryRefused marks (wrapped) a chat's refusal of one message for
// what it says (too long, say): that entry is skipped, the rest go on.
var ErrEntryRefused = errors.New("the chat refused this message")

// ErrMessageGone marks (wrapped) a chat's answer that the incident's
// message no longer exists (someone deleted it): a new one is posted.
var ErrMessageGone = errors.New("the chat message is gone")

// SyncChatPost brings one incident's message in one chat up to date:
// posts it (or updates it in place), then replies in its thread with the
// timeline entries it has not mirrored yet, and records how far it got.
// Failures back off for that chat and incident only.
func (e *Engine) SyncChatPost(ctx context.Context, p ChatPost) error {
	chat := e.chats[p.Chat]
	log := e.log.With("chat", p.Chat, "incident_id", p.IncidentID)
	var inc *Incident
	var events []Event
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		if inc, err = tx.Incident(p.IncidentID); err != nil {
			return err
		}
		events, err = tx.Events(p.IncidentID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sync chat %s incident %d: %w", p.Chat, p.IncidentID, err)
	}
	ref, synced := p.Ref, p.Synced
	syncErr := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic in chat adapter", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				e.metrics.Panic(PanicChat)
				err = fmt.Errorf("chat adapter panicked: %v", v)
			}
		}()
		ctx, cancel := context.WithTimeout(ctx, e.sendTimeout)
		defer cancel()
		if ref == "" {
			r, err := chat.Post(ctx, inc)
			if err != nil {
				return fmt.Errorf("post: %w", err)
			}
			if r == "" {
				synced = len(events) // nothing to show yet
				return nil
			}
			ref = r
			// Record the message at once, so a later failure never
			// posts it twice.
			if err := e.recordChatRef(ctx, p, ref); err != nil {
				return err
			}
		} else if err := chat.Update(ctx, ref, inc); errors.Is(err, ErrMessageGone) {
			// Someone deleted the message: the incident gets a new one,
			// and its thread the timeline again.
			log.Warn("chat message gone; posting it again", "ref", ref, "err", err)
			r, err := chat.Post(ctx, inc)
			if err != nil {
				return fmt.Errorf("post again: %w", err)
			}
			ref, synced = r, 0
			if err := e.recordChatRef(ctx, p, ref); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		for synced < len(events) {
			if ev := events[synced]; mirrored(ev.Kind) {
				err := chat.Reply(ctx, ref, inc, ev)
				if err != nil && !errors.Is(err, ErrEntryRefused) {
					return fmt.Errorf("reply: %w", err)
				}
				if err != nil {
					// This entry cannot be shown (too long, say); the
					// ones after it still can. A refusal of the chat as a
					// whole (permissions) stops here, to go on from this
					// entry once mended.
					log.Warn("chat refused a timeline entry; going on without it", "event_kind", ev.Kind, "err", err)
				}
			}
			synced++
		}
		return nil
	}()
	return e.recordChatSync(ctx, p, ref, synced, syncErr)
}

func (e *Engine) recordChatRef(ctx context.Context, claimed ChatPost, ref string) error {
	return e.store.Update(context.WithoutCancel(ctx), func(tx Tx) error {
		p, err := tx.ChatPost(claimed.Chat, claimed.IncidentID)
		if err != nil {
			return err
		}
		p.Ref = ref
		return tx.PutChatPost(p)
	})
}

func (e *Engine) recordChatSync(ctx context.Context, claimed ChatPost, ref string, synced int, syncErr error) error {
	now := e.clock.Now()
	err := e.store.Update(context.WithoutCancel(ctx), func(tx Tx) error {
		p, err := tx.ChatPost(claimed.Chat, claimed.IncidentID)
		if err != nil {
			return err
		}
		// A message posted anew (the old one deleted) replays its thread
		// from the start: its progress is its own, not the old one's.
		if ref != claimed.Ref {
			p.Ref, p.Synced = ref, synced
		} else {
			p.Ref, p.Synced = ref, max(p.Synced, synced)
		}
		switch {
		case syncErr == nil && p.Version == claimed.Version:
			p.Dirty, p.NotBefore, p.Attempts, p.Error = false, time.Time{}, 0, ""
		case syncErr == nil:
			p.NotBefore, p.Attempts, p.Error = now, 0, "" // changed meanwhile: again
		case IsPermanent(syncErr):
			// Retrying cannot help (a deleted channel, a revoked token);
			// the next change tries again.
			p.Dirty, p.NotBefore, p.Error = false, time.Time{}, syncErr.Error()
		default:
			p.Attempts++
			wait := min(5*time.Second<<min(p.Attempts-1, 10), chatBackoffMax)
			// A chat that says how long to wait (429 Retry-After) is
			// not asked again sooner.
			if ra, ok := errors.AsType[RetryAfter](syncErr); ok {
				wait = max(wait, ra.RetryAfterWait())
			}
			p.NotBefore, p.Error = now.Add(wait), syncErr.Error()
		}
		return tx.PutChatPost(p)
	})
	if err != nil {
		return fmt.Errorf("record chat %s incident %d: %w", claimed.Chat, claimed.IncidentID, err)
	}
	if syncErr != nil {
		e.log.Warn("chat sync failed", "chat", claimed.Chat, "incident_id", claimed.IncidentID,
			"permanent", IsPermanent(syncErr), "err", syncErr)
	}
	return nil
}
