/* The kit's JACK process callback in C: MIDI note-ons in, the kit's stereo mix out.
 *
 * Why C: a Python process callback takes the interpreter lock and runs a few hundred
 * bytecodes every period, with cold caches (the core ran other work since the last period):
 * 20-50 us of a 1,333 us period at 64 frames, measured in the callback (bench/kit_callback.py).
 * This one touches a few cache lines and never enters Python, so it holds no lock the
 * process's Python threads could hold.
 *
 * The mixing is VoiceMixer's (engine/audio/mixer.py): a hit is a slot playing one voice's
 * buffer from its note's frame with a left and a right gain; a closed hi-hat silences an open
 * one that started before it from the start of the block; past KIT_SLOTS sounding hits the
 * one that has played longest gives way. The buffers, gains, the velocity curve and the note
 * table come from Python (engine/audio/kit_native.py), which keeps them alive; the main
 * thread writes gains and the note table while this runs (a hit may take a half-updated mix:
 * harmless), nothing else. JACK's functions are passed in as pointers (no libjack headers
 * or link needed). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#define KIT_VOICES 9
#define KIT_SLOTS 64
#define NO_VOICE (-1)
#define CLOSED_HAT 2
#define OPEN_HAT 3
#define NOTE_ON 0x90

typedef struct {
    uint32_t time;
    size_t size;
    unsigned char *buffer;
} midi_event_t; /* jack_midi_event_t */

typedef void *(*get_buffer_fn)(void *port, uint32_t frames);
typedef uint32_t (*event_count_fn)(void *buffer);
typedef int (*event_get_fn)(midi_event_t *event, void *buffer, uint32_t index);

typedef struct {
    int32_t voice; /* NO_VOICE: free */
    int64_t pos;   /* frame of its buffer at the next block's start (negative: starts in it) */
    float left, right;
} hit_t;

typedef struct {
    /* JACK, set once before activation */
    get_buffer_fn get_buffer;
    event_count_fn event_count;
    event_get_fn event_get;
    void *midi_port, *left_port, *right_port;
    /* the kit, set once */
    const float *samples[KIT_VOICES];
    int64_t lengths[KIT_VOICES];
    float velocity_gain[128];
    /* written by the main thread while playing */
    volatile float gains[KIT_VOICES][2];
    volatile int32_t voice_of[128];
    volatile int32_t status; /* NOTE_ON | the drums' channel */
    /* the callback's own */
    hit_t hits[KIT_SLOTS];
    int64_t triggered;
    int64_t *stats; /* shared counters: blocks, busy_ns, busy_max_ns, hits, alive, then the histogram */
    int64_t hist_at, hist_last;
} kit_t;

size_t kit_size(void) { return sizeof(kit_t); }

void kit_init(kit_t *kit) {
    memset(kit, 0, sizeof(*kit));
    for (int i = 0; i < KIT_SLOTS; i++) kit->hits[i].voice = NO_VOICE;
    for (int i = 0; i < 128; i++) kit->voice_of[i] = NO_VOICE;
    kit->status = NOTE_ON | 9;
}

/* Start `voice` `offset` frames into the next block at MIDI `velocity`. */
void kit_trigger(kit_t *kit, int64_t offset, int32_t voice, int32_t velocity) {
    if (voice < 0 || voice >= KIT_VOICES || velocity <= 0 || velocity > 127) return;
    float gain = kit->velocity_gain[velocity];
    if (gain <= 0.0f) return;
    if (offset < 0) offset = 0;
    hit_t *hits = kit->hits;
    if (voice == CLOSED_HAT) {
        for (int i = 0; i < KIT_SLOTS; i++)
            if (hits[i].voice == OPEN_HAT && hits[i].pos + offset > 0) hits[i].voice = NO_VOICE;
    }
    int slot = -1;
    for (int i = 0; i < KIT_SLOTS; i++)
        if (hits[i].voice == NO_VOICE) { slot = i; break; }
    if (slot < 0) { /* every slot sounding: the one that has played longest gives way */
        slot = 0;
        for (int i = 1; i < KIT_SLOTS; i++)
            if (hits[i].pos > hits[slot].pos) slot = i;
    }
    hits[slot].voice = voice;
    hits[slot].pos = -offset;
    hits[slot].left = kit->gains[voice][0] * gain;
    hits[slot].right = kit->gains[voice][1] * gain;
    kit->triggered++;
}

/* Overwrite left[:frames] and right[:frames] with this block and move every hit on. */
void kit_mix(kit_t *kit, float *left, float *right, uint32_t frames) {
    memset(left, 0, frames * sizeof(float));
    memset(right, 0, frames * sizeof(float));
    for (int i = 0; i < KIT_SLOTS; i++) {
        hit_t *hit = &kit->hits[i];
        if (hit->voice == NO_VOICE) continue;
        int64_t length = kit->lengths[hit->voice];
        int64_t start = hit->pos < 0 ? -hit->pos : 0; /* first frame of the block it sounds in */
        if (start < frames) {
            const float *src = kit->samples[hit->voice] + (hit->pos + start);
            int64_t n = (int64_t)frames - start;
            if (hit->pos + start + n > length) n = length - (hit->pos + start);
            float l = hit->left, r = hit->right;
            for (int64_t j = 0; j < n; j++) {
                left[start + j] += src[j] * l;
                right[start + j] += src[j] * r;
            }
        }
        hit->pos += frames;
        if (hit->pos >= length) hit->voice = NO_VOICE;
    }
}

int kit_active(const kit_t *kit) {
    int n = 0;
    for (int i = 0; i < KIT_SLOTS; i++) n += kit->hits[i].voice != NO_VOICE;
    return n;
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* JackProcessCallback: the note-ons of this period at their frames, then the mix. */
int kit_process(uint32_t frames, void *arg) {
    kit_t *kit = (kit_t *)arg;
    int64_t t0 = now_ns();
    void *midi = kit->get_buffer(kit->midi_port, frames);
    uint32_t count = kit->event_count(midi);
    int32_t status = kit->status;
    for (uint32_t i = 0; i < count; i++) {
        midi_event_t event;
        if (kit->event_get(&event, midi, i) != 0) break;
        if (event.size == 3 && event.buffer[0] == status && event.buffer[2] > 0) {
            int32_t voice = kit->voice_of[event.buffer[1] & 0x7f];
            if (voice != NO_VOICE) kit_trigger(kit, event.time, voice, event.buffer[2]);
        }
    }
    kit_mix(kit, (float *)kit->get_buffer(kit->left_port, frames),
            (float *)kit->get_buffer(kit->right_port, frames), frames);
    int64_t *stats = kit->stats;
    if (stats) {
        int64_t spent = now_ns() - t0;
        int64_t bucket = spent / 1000;
        stats[0] += 1;
        stats[1] += spent;
        if (spent > stats[2]) stats[2] = spent;
        stats[3] = kit->triggered;
        stats[kit->hist_at + (bucket < kit->hist_last ? bucket : kit->hist_last)] += 1;
    }
    return 0;
}

/* Setters: Python never mirrors the struct's layout. */
void kit_set_jack(kit_t *kit, get_buffer_fn get_buffer, event_count_fn event_count, event_get_fn event_get,
                  void *midi_port, void *left_port, void *right_port) {
    kit->get_buffer = get_buffer;
    kit->event_count = event_count;
    kit->event_get = event_get;
    kit->midi_port = midi_port;
    kit->left_port = left_port;
    kit->right_port = right_port;
}

void kit_set_voice(kit_t *kit, int32_t voice, const float *samples, int64_t length) {
    if (voice < 0 || voice >= KIT_VOICES) return;
    kit->samples[voice] = samples;
    kit->lengths[voice] = length;
}

void kit_set_velocity_gain(kit_t *kit, int32_t velocity, float gain) {
    if (velocity >= 0 && velocity < 128) kit->velocity_gain[velocity] = gain;
}

void kit_set_gain(kit_t *kit, int32_t voice, float left, float right) {
    if (voice < 0 || voice >= KIT_VOICES) return;
    kit->gains[voice][0] = left;
    kit->gains[voice][1] = right;
}

void kit_set_note(kit_t *kit, int32_t pitch, int32_t voice) {
    if (pitch >= 0 && pitch < 128) kit->voice_of[pitch] = voice;
}

void kit_set_status(kit_t *kit, int32_t status) { kit->status = status; }

void kit_set_stats(kit_t *kit, int64_t *stats, int64_t hist_at, int64_t hist_last) {
    kit->stats = stats;
    kit->hist_at = hist_at;
    kit->hist_last = hist_last;
}

int64_t kit_triggered(const kit_t *kit) { return kit->triggered; }
