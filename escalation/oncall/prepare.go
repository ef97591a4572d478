package oncall

import (
	"container/heap"
	"slices"
	"time"
)

// prepared is a validated schedule in the form lookups want.
type prepared struct {
	loc    *time.Location
	layers []layer
	// overrides: the winning override over time as disjoint segments in
	// order, so a lookup is a binary search.
	overrides []segment
}

type segment struct {
	from, to time.Time
	person   string
}

// layer is a rotation in day/second arithmetic, so finding the shift of an
// instant is O(1) rather than stepping shift by shift from Start.
type layer struct {
	names []string
	// skip[i] is how many shifts after a shift of names[i] the person
	// changes; 0 when every name is the same.
	skip  []int64
	hours bool
	// period: seconds for hour-based shifts, days otherwise.
	period  int64
	handoff int64 // seconds after local midnight
	first   int64 // day number of Start
	// anchor: for hour-based shifts the Unix second of the first handoff;
	// otherwise the day number the grid of handoff days counts from (for
	// weeks, the handoff weekday on or before Start).
	anchor  int64
	windows []window
}

// window is a restriction window: occurrences start on days start+i*step
// at from (seconds after local midnight) and end span days later at to.
type window struct {
	start, step, span int64
	from, to          int64
}

func prepare(s *Schedule) *prepared {
	p := &prepared{loc: s.Location, overrides: overrideSegments(s.Overrides)}
	for _, l := range s.Layers {
		p.layers = append(p.layers, prepareLayer(s.Location, l))
	}
	return p
}

func prepareLayer(loc *time.Location, l Layer) layer {
	n := len(l.Participants)
	pl := layer{
		names:   l.Participants,
		skip:    make([]int64, n),
		handoff: l.Handoff.seconds(),
		first:   dayNumber(l.Start),
	}
	for i := range n {
		for j := 1; j < n; j++ {
			if l.Participants[(i+j)%n] != l.Participants[i] {
				pl.skip[i] = int64(j)
				break
			}
		}
	}
	switch l.Shift.Unit {
	case Hours:
		pl.hours = true
		pl.period = int64(l.Shift.N) * 3600
		pl.anchor = localAt(loc, pl.first*day+pl.handoff)
	case Days:
		pl.period = int64(l.Shift.N)
		pl.anchor = pl.first
	case Weeks:
		pl.period = 7 * int64(l.Shift.N)
		pl.anchor = pl.first
		if l.Weekday != nil {
			pl.anchor -= floorMod(int64(weekday(pl.first)-*l.Weekday), 7)
		}
	}
	for _, w := range l.Restrictions {
		pw := window{step: 1, from: w.From.seconds(), to: w.To.seconds()}
		if w.FromDay == nil {
			if pw.to <= pw.from {
				pw.span = 1
			}
		} else {
			pw.step = 7
			pw.start = floorMod(int64(*w.FromDay-weekday(0)), 7) // a day number with weekday FromDay
			pw.span = floorMod(int64(*w.ToDay-*w.FromDay), 7)
			if pw.span == 0 && pw.to <= pw.from {
				pw.span = 7
			}
		}
		pl.windows = append(pl.windows, pw)
	}
	return pl
}

// overrideSegments sweeps the overrides' edges in time order, keeping the
// covering overrides in a heap by index, so the latest added wins.
func overrideSegments(ovs []Override) []segment {
	if len(ovs) == 0 {
		return nil
	}
	var edges []time.Time
	for _, o := range ovs {
		edges = append(edges, o.From, o.To)
	}
	slices.SortFunc(edges, time.Time.Compare)
	edges = slices.CompactFunc(edges, time.Time.Equal)
	byFrom := make([]int, len(ovs))
	for i := range byFrom {
		byFrom[i] = i
	}
	slices.SortStableFunc(byFrom, func(a, b int) int { return ovs[a].From.Compare(ovs[b].From) })

	var segs []segment
	h := &latest{}
	next := 0
	for j := 0; j+1 < len(edges); j++ {
		from, to := edges[j], edges[j+1]
		for next < len(byFrom) && !ovs[byFrom[next]].From.After(from) {
			heap.Push(h, byFrom[next])
			next++
		}
		for h.Len() > 0 && !ovs[(*h)[0]].To.After(from) {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			continue
		}
		who := ovs[(*h)[0]].Person
		if n := len(segs); n > 0 && segs[n-1].person == who && segs[n-1].to.Equal(from) {
			segs[n-1].to = to
			continue
		}
		segs = append(segs, segment{from: from, to: to, person: who})
	}
	return segs
}

// latest is a max-heap of override indexes.
type latest []int

func (h latest) Len() int           { return len(h) }
func (h latest) Less(i, j int) bool { return h[i] > h[j] }
func (h latest) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *latest) Push(x any)        { *h = append(*h, x.(int)) }
func (h *latest) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
