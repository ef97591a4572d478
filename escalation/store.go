package escalation

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) by a Tx when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrStorage marks (wrapped) a failure of the store itself, not of the
// transaction's work: a commit that could not be written (the disk full,
// an I/O error). The same work may succeed later; nothing about the input
// is wrong, so no caller may drop it as bad.
var ErrStorage = errors.New("storage failed")

// Store runs functions in transactions. Update commits durably (fsync) before
// it returns nil; fn may run more than once (a store may retry it alone after
// a failed group commit), so it must only touch the Tx and its own locals.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// BulkUpdater is a Store that commits a large transaction (the intake's
// apply of thousands of alerts) on its own rather than with the small ones
// waiting at the same time, so that a page's tick waits for no apply's work
// but the one running when it came. ApplyQueued uses it when the store has
// it.
//
// fn is handed yield, which reports that other writers are waiting and fn
// has worked long enough for its commit to be worth it. A fn that can stop
// early should then stop, and commit what it did: ApplyQueued does so
// between deliveries, so that a page's tick waits for a part of an apply,
// not all of it.
type BulkUpdater interface {
	UpdateBulk(ctx context.Context, fn func(tx Tx, yield func() bool) error) error
}

// Tx is what the engine reads and writes inside one transaction. Records are
// copies: changing one changes nothing until it is put back. Reads see the
// transaction's own writes; a store may defer encoding until commit, so
// reading and putting the same incident many times in one transaction is
// cheap.
type Tx interface {
	NextIncidentID() (int64, error)
	Incident(id int64) (*Incident, error)
	// PutIncident stores the incident and keeps the due-time index in step
	// with inc.NextDue.
	PutIncident(inc *Incident) error
	// Incidents lists up to limit incidents newest first (limit <= 0: no
	// limit); an empty status lists all. Listing triggered or acknowledged
	// ones reads only open incidents, however long the history.
	Incidents(status Status, limit int) ([]*Incident, error)
	// OpenIncidents lists the ids of a service's triggered and acknowledged
	// incidents.
	OpenIncidents(service string) ([]int64, error)
	// DueIncidents lists up to limit incident ids whose NextDue is at or
	// before now, earliest first.
	DueIncidents(now time.Time, limit int) ([]int64, error)
	// NextIncidentDue is the earliest NextDue of any incident.
	NextIncidentDue() (time.Time, bool, error)

	// AppendEvent adds to an incident's timeline; Events reads it in order.
	AppendEvent(incidentID int64, ev Event) error
	Events(incidentID int64) ([]Event, error)

	// Alert finds an alert by service and dedup key.
	Alert(service, dedupKey string) (*AlertRecord, error)
	PutAlert(rec *AlertRecord) error
	// IncidentAlerts lists the alerts attached to an incident. It may scan
	// every alert: only merges, splits and drafts use it.
	IncidentAlerts(incidentID int64) ([]*AlertRecord, error)

	// EachIncident calls fn with every incident, oldest first.
	// DeleteIncidents deletes resolved incidents and what
	// is kept for them alone (timelines, pages, chat posts, the records of
	// the alerts they hold, the group keys that lead to them); with early
	// set, also the records of alerts in no incident last seen before it,
	// and notices (pages of no incident) created before it. It refuses an
	// open incident.
	EachIncident(fn func(*Incident) error) error
	DeleteIncidents(ids []int64, early time.Time) (Deleted, error)

	// GroupIncident is the latest incident of a service's group key (0 if
	// none); SetGroupIncident moves it.
	GroupIncident(service, groupKey string) (int64, error)
	SetGroupIncident(service, groupKey string, id int64) error

	NextPageID() (int64, error)
	Page(id int64) (*Page, error)
	// PutPage stores the page; pages whose status is in the outbox are
	// indexed by NotBefore.
	PutPage(p *Page) error
	// DuePages lists up to limit outbox pages due at or before now,
	// earliest first; Outbox lists all of them.
	DuePages(now time.Time, limit int) ([]*Page, error)
	Outbox() ([]*Page, error)
	NextPageDue() (time.Time, bool, error)
	// LatestPageTo is the newest page sent or queued to a person, looking
	// back at most limit pages.
	LatestPageTo(person string, limit int) (*Page, error)
	// PagesTo lists the calls to a person, and the SMS that stood in for
	// calls over their limit, created at or after since, newest first.
	PagesTo(person string, since time.Time) ([]*Page, error)

	// Overrides are the stored schedule overrides, by id. OverridesVersion
	// changes (to a value never used before) whenever they do, and is 0
	// while none was ever stored, so derived caches know when to rebuild.
	NextOverrideID() (int64, error)
	PutOverride(o *Override) error
	DeleteOverride(id int64) error
	Overrides() ([]*Override, error)
	OverridesVersion() (uint64, error)

	// ChatPost is an incident's message in a chat; PutChatPost indexes
	// dirty posts by NotBefore, which DueChatPosts and NextChatDue read.
	ChatPost(chat string, incidentID int64) (*ChatPost, error)
	PutChatPost(p *ChatPost) error
	// take, if set, is asked of each due post's chat in order, and a post
	// it refuses is passed over; open, if set, picks the chats whose posts
	// count.
	DueChatPosts(now time.Time, limit int, take func(chat string) bool) ([]*ChatPost, error)
	NextChatDue(open func(chat string) bool) (time.Time, bool, error)

	// Silences are the silences made through the API, by id.
	NextSilenceID() (int64, error)
	PutSilence(s *Silence) error
	Silences() ([]*Silence, error)

	// Timers are the engine's few named durable timers (notices), by name.
	Timer(name string) (*Timer, error)
	PutTimer(t *Timer) error
	DeleteTimer(name string) error
	Timers() ([]*Timer, error)

	// IntakeApplied is the sequence number of the last intake journal
	// entry applied (0: none); SetIntakeApplied moves it in the same
	// transaction as the entry's effects.
	IntakeApplied() (uint64, error)
	SetIntakeApplied(seq uint64) error
	// StoreID is a random id made with the database, kept by its copies.
	StoreID() (string, error)
}
