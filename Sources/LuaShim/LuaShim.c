#include <stdlib.h>
#include "LuaShim.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// ---- The Lua heap ---------------------------------------------------------------------------------
// Lua raises "not enough memory" when its allocator returns NULL, and raising longjmps. That is safe
// only while Lua code runs under a protected call with no Swift frame above it; inside a Swift
// function (which pushes results, builds tables) or in Swift outside any call, the allocator must
// not fail. So an allocation may fail only where `may_fail` is set (slab_pcall_traceback sets it,
// slab_trampoline clears it around the Swift call). Elsewhere it goes over the limit, or, when malloc
// itself fails, spends an emergency reserve; either marks the heap `overdrawn`, and the trampoline
// raises the memory error once the Swift frame has returned.
enum { SLAB_HEAP_RESERVE = 64 << 20 };

typedef struct {
    size_t used;      // bytes Lua holds now
    size_t limit;     // a soft cap (SIZE_MAX: none); tests set a small one
    void *reserve;    // freed when malloc fails where failing is not allowed
    size_t refused;   // what Lua held when an allocation last failed
    int may_fail;
    int overdrawn;
} slab_heap;

static slab_heap *heap_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (slab_heap *)ud;
}

static void *slab_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    slab_heap *h = (slab_heap *)ud;
    size_t old = ptr != NULL ? osize : 0;   // with ptr NULL, osize is a type tag, not a size
    if (nsize == 0) {
        free(ptr);
        h->used -= old;
        return NULL;
    }
    if (nsize > old && h->used - old + nsize > h->limit) {
        if (h->may_fail) {
            h->refused = h->used;
            return NULL;
        }
        h->overdrawn = 1;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) h->refused = h->used;
    if (p == NULL && nsize > old && !h->may_fail) {
        if (h->reserve != NULL) {
            free(h->reserve);
            h->reserve = NULL;
            h->overdrawn = 1;
            p = realloc(ptr, nsize);
        }
        if (p == NULL) {   // nothing left to give: failing here would longjmp through Swift
            static const char msg[] = "spectral-lab: out of memory inside a Swift function called from Lua\n";
            fwrite(msg, 1, sizeof msg - 1, stderr);
            _exit(1);
        }
    }
    if (p != NULL) h->used = h->used - old + nsize;
    return p;
}

lua_State *slab_newstate(void) {
    slab_heap *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->limit = SIZE_MAX;
    h->reserve = malloc(SLAB_HEAP_RESERVE);
    lua_State *L = lua_newstate(slab_alloc, h);
    if (L == NULL) {
        free(h->reserve);
        free(h);
    }
    return L;
}

void slab_close(lua_State *L) {
    slab_heap *h = heap_of(L);
    lua_close(L);
    free(h->reserve);
    free(h);
}

void slab_set_heap_limit(lua_State *L, size_t bytes) { heap_of(L)->limit = bytes; }

size_t slab_heap_used(lua_State *L) { return heap_of(L)->used; }

// ---- Swift callbacks ----------------------------------------------------------------------------

static slab_dispatch_fn swift_dispatch = NULL;
static slab_release_fn swift_release = NULL;

void slab_set_callbacks(slab_dispatch_fn dispatch, slab_release_fn release) {
    swift_dispatch = dispatch;
    swift_release = release;
}

// ---- Swift objects as userdata ----------------------------------------------------------------

// __gc of every userdata we make: clear the pointer first, so that a second finalization (a
// resurrected object, a direct call of __gc) does nothing, then release the Swift object.
static int slab_gc(lua_State *L) {
    void **slot = (void **)lua_touserdata(L, 1);
    if (slot != NULL && lua_rawlen(L, 1) == sizeof(void *) && *slot != NULL) {
        void *object = *slot;
        *slot = NULL;
        swift_release(object);
    }
    return 0;
}

int slab_new_metatable(lua_State *L, const char *tname) {
    if (!luaL_newmetatable(L, tname)) return 0;   // sets __name
    lua_pushcfunction(L, slab_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "__slab_object");
    return 1;
}

void slab_push_object(lua_State *L, void *object, const char *tname) {
    void **slot = (void **)lua_newuserdatauv(L, sizeof(void *), 0);
    *slot = object;
    slab_new_metatable(L, tname);
    lua_setmetatable(L, -2);
}

void *slab_to_object(lua_State *L, int idx, const char *tname) {
    void **slot;
    if (tname != NULL) {
        slot = (void **)luaL_testudata(L, idx, tname);
    } else {
        if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
        lua_pushliteral(L, "__slab_object");
        int ours = lua_rawget(L, -2) == LUA_TBOOLEAN;
        lua_pop(L, 2);
        slot = ours ? (void **)lua_touserdata(L, idx) : NULL;
    }
    return slot != NULL ? *slot : NULL;
}

// __index of a class with properties or an index fallback. Upvalues: the methods table, the
// properties table (name → getter), the fallback (or nil) for keys that are not names, as `t[3]`.
// The fallback returns (value) or (nil, message); the message is raised at the line that indexed.
static int slab_index(lua_State *L) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        return 1;
    }
    if (lua_type(L, 2) == LUA_TSTRING || lua_isnil(L, lua_upvalueindex(3))) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 2);
    if (!lua_isnil(L, -1)) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    lua_pop(L, 1);
    return 1;
}

void slab_push_index(lua_State *L) { lua_pushcclosure(L, slab_index, 3); }

// ---- Calling Swift from Lua -------------------------------------------------------------------

// The chunks of the workbench's own Lua (lab.train, lab.experiment, ...), by source name.
#define SLAB_OWN_CHUNKS "slab.own_chunks"

void slab_mark_own_chunk(lua_State *L, const char *source) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, SLAB_OWN_CHUNKS);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, source);
    lua_pop(L, 1);
}

// Where an error a Swift function raises is reported: the line that called it, as luaL_where(L, 1)
// says, except that a call from the workbench's own Lua is reported at the script line that led
// there (lab.experiment.params' mistake is the recipe's line, not lab/experiment.lua's). The
// traceback still shows every frame.
static void slab_where(lua_State *L) {
    lua_Debug ar;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, SLAB_OWN_CHUNKS);
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        lua_getfield(L, -1, ar.source);
        int own = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (own) continue;
        lua_pop(L, 1);
        if (ar.currentline > 0) lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
        else lua_pushliteral(L, "");
        return;
    }
    lua_pop(L, 1);
    luaL_where(L, 1);
}

static int slab_trampoline(lua_State *L) {
    // Upvalue 1 is always our "slab.function" userdata (only slab_push_swift_function makes these).
    void *box = *(void **)lua_touserdata(L, lua_upvalueindex(1));
    if (box == NULL) return luaL_error(L, "Swift function already finalized");
    int arg = 0;
    slab_heap *h = heap_of(L);
    int may_fail = h->may_fail;
    h->may_fail = 0;
    h->overdrawn = 0;
    int n = swift_dispatch(L, box, &arg);
    h->may_fail = may_fail;
    // From here on no Swift frame is live: raising is safe.
    if (h->overdrawn) {
        // Drop the results and collect them, so that the message (with its position) fits.
        h->overdrawn = 0;
        lua_settop(L, 0);
        lua_gc(L, LUA_GCCOLLECT);
        if (h->reserve == NULL) h->reserve = malloc(SLAB_HEAP_RESERVE);
        return luaL_error(L, "not enough memory");
    }
    switch (n) {
    case SLAB_RAISE_WHERE:
        slab_where(L);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    case SLAB_RAISE_ARG:
        return luaL_argerror(L, arg, lua_tostring(L, -1));
    case SLAB_RAISE_VALUE:
        return lua_error(L);
    default:
        return n;
    }
}

void slab_push_swift_function(lua_State *L, void *box) {
    slab_push_object(L, box, "slab.function");
    lua_pushcclosure(L, slab_trampoline, 1);
}

// ---- Running code -----------------------------------------------------------------------------

int slab_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int slab_pcall_traceback(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;   // the function's index
    lua_pushcfunction(L, slab_msghandler);
    lua_insert(L, base);
    slab_heap *h = heap_of(L);
    int may_fail = h->may_fail;
    h->may_fail = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    h->may_fail = may_fail;
    lua_remove(L, base);
    if (status == LUA_ERRMEM) {
        // Lua's own message says neither where nor how much; the garbage is collectable now, and
        // (called from Swift, so may_fail is 0) pushing the longer message cannot fail.
        lua_pop(L, 1);
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushfstring(L, "not enough memory (the Lua heap held %d MiB when an allocation failed)",
                        (int)(h->refused >> 20));
    }
    return status;
}

static int tostring_body(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    return 1;
}

int slab_tostring_protected(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, tostring_body);
    lua_pushvalue(L, idx);
    slab_heap *h = heap_of(L);
    int may_fail = h->may_fail;
    h->may_fail = 1;
    int status = lua_pcall(L, 1, 1, 0);
    h->may_fail = may_fail;
    return status;
}

static void budget_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "instruction budget exhausted");
}

void slab_limit_instructions(lua_State *L, int count) {
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, count);
}

// ---- Text chunks only ----------------------------------------------------------------------------
// The Lua manual warns that malformed bytecode can crash the interpreter (a mutated string.dump
// did): load, loadfile, dofile and require's Lua searcher accept text chunks only.

// The original function (upvalue 1) with argument `mode` forced to "t".
static int call_text_mode(lua_State *L, int mode) {
    if (lua_gettop(L) < mode) lua_settop(L, mode);
    lua_pushliteral(L, "t");
    lua_replace(L, mode);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int load_text_only(lua_State *L) { return call_text_mode(L, 3); }       // load(chunk [, chunkname [, mode [, env]]])
static int loadfile_text_only(lua_State *L) { return call_text_mode(L, 2); }   // loadfile([filename [, mode [, env]]])

static int dofile_text_only(lua_State *L) {    // dofile([filename])
    const char *fname = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK) return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

static int searcher_text_only(lua_State *L) {  // package.searchers[2], as loadlib.c's, mode "t"
    const char *name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) return 1;   // searchpath's message: the files it tried
    const char *filename = lua_tostring(L, -2);
    if (luaL_loadfilex(L, filename, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename, lua_tostring(L, -1));
    lua_pushstring(L, filename);
    return 2;
}

void slab_text_chunks_only(lua_State *L) {
    lua_getglobal(L, "load");
    lua_pushcclosure(L, load_text_only, 1);
    lua_setglobal(L, "load");
    lua_getglobal(L, "loadfile");
    lua_pushcclosure(L, loadfile_text_only, 1);
    lua_setglobal(L, "loadfile");
    lua_pushcfunction(L, dofile_text_only);
    lua_setglobal(L, "dofile");
    lua_getglobal(L, "package");
    if (lua_getfield(L, -1, "searchers") == LUA_TTABLE) {
        lua_pushcfunction(L, searcher_text_only);
        lua_rawseti(L, -2, 2);
    }
    lua_pop(L, 2);
}

// ---- Ctrl-C, SIGTERM, SIGHUP ---------------------------------------------------------------------
// A stop request (Ctrl-C; SIGTERM, which Slurm and every scheduler send; SIGHUP) makes the running
// Lua code raise "interrupted!" through a hook, as lua.c does. The hook stays set until the host
// clears it, so a pcall cannot swallow the stop: the next instruction raises again. Inside
// lab.defer_interrupts(f) the request only sets the flag (lab.interrupted() reads it), so a loop can
// stop at a step boundary and checkpoint; the hook is set as f returns. A second request ends the
// process at once.

static lua_State *volatile sigint_state = NULL;
static volatile sig_atomic_t interrupt_pending = 0;
static volatile sig_atomic_t interrupt_signal = 0;
static volatile sig_atomic_t deferred = 0;
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
enum { STOP_SIGNALS = sizeof stop_signals / sizeof stop_signals[0] };
static struct sigaction previous_actions[STOP_SIGNALS];
static int installed = 0;

// The hook runs inside the Lua VM (never inside a Swift frame): raising here is safe.
static void stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    luaL_error(L, "interrupted!");
}

static void set_stop_hook(lua_State *L) {
    // lua_sethook is documented as safe to call from a signal handler.
    lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

static void on_stop_signal(int sig) {
    if (interrupt_pending) _exit(128 + sig);   // the second request: at once
    interrupt_pending = 1;
    interrupt_signal = sig;
    lua_State *L = sigint_state;
    if (L != NULL && !deferred) set_stop_hook(L);
}

void slab_sigint_install(lua_State *L, int all) {
    sigint_state = L;
    if (installed) return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < (all ? STOP_SIGNALS : 1); i++) {
        sigaction(stop_signals[i], &action, &previous_actions[i]);
        sigaddset(&set, stop_signals[i]);
    }
    // A parent may have started us with these blocked (the mask is inherited): they must still work.
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    installed = all ? STOP_SIGNALS : 1;
}

void slab_sigint_restore(void) {
    for (int i = 0; i < installed; i++) sigaction(stop_signals[i], &previous_actions[i], NULL);
    installed = 0;
    sigint_state = NULL;
}

int slab_interrupt_pending(void) { return interrupt_pending; }

int slab_interrupt_signal(void) { return interrupt_pending ? interrupt_signal : 0; }

void slab_interrupt_clear(lua_State *L) {
    interrupt_pending = 0;
    interrupt_signal = 0;
    deferred = 0;
    if (L != NULL) lua_sethook(L, NULL, 0, 0);
}

// lab.defer_interrupts(f, ...): f(...) with stop requests deferred; its results, or its error
// raised again (the same value) once deferral is back as it was.
static int defer_interrupts(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    sig_atomic_t saved = deferred;
    deferred = 1;
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    deferred = saved;
    if (!saved && interrupt_pending && sigint_state != NULL) set_stop_hook(sigint_state);
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

void slab_push_defer_interrupts(lua_State *L) { lua_pushcfunction(L, defer_interrupts); }

// ---- Output -------------------------------------------------------------------------------------

void slab_write_stderr(const char *s, size_t n) {
    fflush(stdout);
    fwrite(s, 1, n, stderr);
    fflush(stderr);
}

void slab_flush_stdout(void) { fflush(stdout); }

void slab_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, BUFSIZ); }

// ---- Memory ----------------------------------------------------------------------------------------

int slab_memory_available(size_t bytes) {
    // volatile: a malloc whose block is never used would otherwise be optimized away with its free.
    void *volatile p = malloc(bytes);
    if (p == NULL) return 0;
    free(p);
    return 1;
}
