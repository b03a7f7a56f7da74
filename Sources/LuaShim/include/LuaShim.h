// LuaShim: the few things Swift cannot do with Lua 5.4 on its own.
//
// 1. Lua's function-like macros (lua_pop, lua_pcall, ...) do not import into Swift: thin inline wrappers.
// 2. Raising a Lua error longjmps. A longjmp across a Swift frame is undefined behaviour (it skips
//    defer and deinit), so every Swift function that Lua calls goes through slab_trampoline: the Swift
//    side reports an error by return code, and the C side raises it after the Swift frame is gone.
// 3. Swift objects as full userdata whose __gc releases them, exactly once.
// 4. Lua's allocator must not fail inside a Swift frame either: the heap in LuaShim.c.
// 5. Ctrl-C, SIGTERM, SIGHUP: a handler that stops the running Lua code through a hook, as lua.c does.
#ifndef LUASHIM_H
#define LUASHIM_H

#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <stddef.h>

// ---- The Lua heap ------------------------------------------------------------------------------
// A Lua state whose allocator never fails while a Swift frame is live (see LuaShim.c): a memory error
// is raised after the Swift function returns. Close it with slab_close.
lua_State *slab_newstate(void);
void slab_close(lua_State *L);
// A soft cap on the bytes Lua holds (for tests); SIZE_MAX, the default, is none.
void slab_set_heap_limit(lua_State *L, size_t bytes);
size_t slab_heap_used(lua_State *L);

// ---- Calling Swift from Lua -------------------------------------------------------------------
// Return codes of the Swift dispatcher, besides n >= 0 results on top of the stack.
enum {
    SLAB_RAISE_WHERE = -1,  // error message on top: raise it prefixed with the caller's "file:line:"
    SLAB_RAISE_ARG = -2,    // argument error: message on top, argument index in *arg
    SLAB_RAISE_VALUE = -3   // error value on top: raise it unchanged (it already says where)
};

// The Swift side: called with the boxed Swift closure (upvalue 1) and the Lua state.
typedef int (*slab_dispatch_fn)(lua_State *L, void *box, int *arg);
typedef void (*slab_release_fn)(void *object);
void slab_set_callbacks(slab_dispatch_fn dispatch, slab_release_fn release);

// Pushes a C closure that calls the Swift closure `box` (retained; released by the closure's __gc).
void slab_push_swift_function(lua_State *L, void *box);

// Pops a methods table, a properties table (name → getter) and a fallback function (or nil) and
// pushes the __index closure over them: methods first, then properties, then (for keys that are not
// strings) the fallback, whose (nil, message) is raised at the line that indexed.
void slab_push_index(lua_State *L);

// ---- Swift objects as userdata ----------------------------------------------------------------
// Creates (or finds) the metatable `tname` in the registry, with __gc and the marker __slab_object
// already in it (Lua 5.4 marks for finalization only when __gc is present as the metatable is set).
// Leaves it on the stack; returns 1 when it was created now.
int slab_new_metatable(lua_State *L, const char *tname);
// Pushes a userdata holding `object` (already retained) with the registry's metatable `tname`.
void slab_push_object(lua_State *L, void *object, const char *tname);
// The Swift object inside a userdata of ours at idx, or NULL (not ours, or already finalized).
// `tname` NULL accepts any of our classes.
void *slab_to_object(lua_State *L, int idx, const char *tname);

// ---- Running code -----------------------------------------------------------------------------
// lua.c's message handler: adds a traceback; a non-string error object goes through __tostring.
int slab_msghandler(lua_State *L);
// Calls the function below nargs arguments under slab_msghandler; returns the lua_pcall status.
int slab_pcall_traceback(lua_State *L, int nargs, int nresults);
// luaL_tolstring under protection (a __tostring may raise). Leaves the string (or the error) on top.
int slab_tostring_protected(lua_State *L, int idx);

// Makes the Lua code of L fail with "instruction budget exhausted" after `count` VM instructions.
void slab_limit_instructions(lua_State *L, int count);

// Replaces load, loadfile, dofile and require's Lua searcher with versions that accept text
// chunks only (malformed bytecode can crash Lua).
void slab_text_chunks_only(lua_State *L);

// ---- Ctrl-C, SIGTERM, SIGHUP --------------------------------------------------------------------
// Installs a handler (SIGINT only, or also SIGTERM and SIGHUP when `all`) that makes the running Lua
// code of L raise "interrupted!" (a hook that stays set, so pcall cannot swallow it) and sets a flag;
// a second signal ends the process. slab_sigint_restore puts the previous handlers back.
void slab_sigint_install(lua_State *L, int all);
void slab_sigint_restore(void);
int slab_interrupt_pending(void);
// The signal of the pending stop request, or 0.
int slab_interrupt_signal(void);
void slab_interrupt_clear(lua_State *L);
// Pushes lab.defer_interrupts (a C function: see LuaShim.c).
void slab_push_defer_interrupts(lua_State *L);

// ---- Output -------------------------------------------------------------------------------------
// Writes to stderr after flushing stdout, so that the two streams stay in order on a terminal.
void slab_write_stderr(const char *s, size_t n);
void slab_flush_stdout(void);
/// Marks a chunk (by its source name, "@lab/train.lua") as the workbench's own: errors raised by
/// Swift functions it calls are reported at the script line that called into it.
void slab_mark_own_chunk(lua_State *L, const char *source);
/// Whole lines reach stdout's file at once, whatever the file is (a pipe is otherwise fully buffered).
void slab_line_buffer_stdout(void);

// ---- Memory ------------------------------------------------------------------------------------
// 1 when `bytes` could be allocated now (the block is freed at once): a script's big requests are
// tried before Swift allocates, since a failed Swift allocation aborts the process.
int slab_memory_available(size_t bytes);

// ---- Macros as functions ---------------------------------------------------------------------------
static inline const char *slab_lua_release(void) { return LUA_RELEASE; }
static inline int slab_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int slab_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void slab_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void slab_newtable(lua_State *L) { lua_newtable(L); }
static inline int slab_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline void slab_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline void *slab_extraspace(lua_State *L) { return *(void **)lua_getextraspace(L); }
static inline void slab_set_extraspace(lua_State *L, void *p) { *(void **)lua_getextraspace(L) = p; }
static inline void slab_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }
static inline void slab_gc_step(lua_State *L, int kb) { lua_gc(L, LUA_GCSTEP, kb); }
static inline int slab_load(lua_State *L, const char *buf, size_t n, const char *chunkname) {
    return luaL_loadbufferx(L, buf, n, chunkname, "t");   // text only: never load bytecode
}

#endif
