package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// chatKey is a chat post's key: chat name, NUL, incident id.
func chatKey(chat string, incidentID int64) ([]byte, error) {
	if chat == "" || strings.IndexByte(chat, 0) >= 0 {
		return nil, fmt.Errorf("chat name %q is empty or contains NUL", chat)
	}
	k := make([]byte, 0, len(chat)+9)
	k = append(k, chat...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(incidentID)), nil
}

func (t *tx) ChatPost(chat string, incidentID int64) (*escalation.ChatPost, error) {
	k, err := chatKey(chat, incidentID)
	if err != nil {
		return nil, fmt.Errorf("store: chat post: %w", err)
	}
	p := new(escalation.ChatPost)
	ok, err := t.get(bucketChat, k, p)
	if err != nil {
		return nil, fmt.Errorf("store: read chat post %s/%d: %w", chat, incidentID, err)
	}
	if !ok {
		return nil, fmt.Errorf("chat post %s/%d: %w", chat, incidentID, escalation.ErrNotFound)
	}
	return p, nil
}

func (t *tx) PutChatPost(p *escalation.ChatPost) error {
	if err := checkID("incident", p.IncidentID); err != nil {
		return err
	}
	k, err := chatKey(p.Chat, p.IncidentID)
	if err != nil {
		return fmt.Errorf("store: put chat post: %w", err)
	}
	if err := t.put(bucketChat, k, p); err != nil {
		return fmt.Errorf("store: put chat post %s/%d: %w", p.Chat, p.IncidentID, err)
	}
	// Keep the due index in step: dirty posts only, by NotBefore.
	due, rev := t.bucket(bucketChatDue), t.bucket(bucketChatRev)
	var dk []byte
	if p.Dirty {
		dk = binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(k)), unixNanos(p.NotBefore))
		dk = append(dk, k...)
	}
	if old := rev.Get(k); old != nil {
		if dk != nil && bytes.Equal(old, dk) {
			return nil
		}
		if err := due.Delete(bytes.Clone(old)); err != nil {
			return err
		}
		if dk == nil {
			return rev.Delete(k)
		}
	}
	if dk == nil {
		return nil
	}
	if err := due.Put(dk, []byte{}); err != nil {
		return err
	}
	return rev.Put(bytes.Clone(k), dk)
}

// dueChat is the chat a chat_due key is for: after the time, the chat
// key's name (chat, NUL, incident id).
func dueChat(k []byte) string {
	if len(k) < 8+1+8 {
		return ""
	}
	return string(k[8 : len(k)-9])
}

func (t *tx) DueChatPosts(now time.Time, limit int, take func(chat string) bool) ([]*escalation.ChatPost, error) {
	var out []*escalation.ChatPost
	last := unixNanos(now)
	c := t.bucket(bucketChatDue).Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= last; k, _ = c.Next() {
		if limit > 0 && len(out) >= limit {
			break
		}
		if take != nil && !take(dueChat(k)) {
			continue
		}
		v := t.bucket(bucketChat).Get(k[8:])
		if v == nil {
			return nil, fmt.Errorf("store: chat index points at a missing post %q", k[8:])
		}
		p := new(escalation.ChatPost)
		if err := json.Unmarshal(v, p); err != nil {
			return nil, fmt.Errorf("store: read chat post %q: %w", k[8:], err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (t *tx) NextChatDue(open func(chat string) bool) (time.Time, bool, error) {
	c := t.bucket(bucketChatDue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if open == nil || open(dueChat(k)) {
			return keyTime(k), true, nil
		}
	}
	return time.Time{}, false, nil
}
