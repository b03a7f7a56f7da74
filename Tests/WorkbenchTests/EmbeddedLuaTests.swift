import Foundation
import Testing
@testable import Workbench

/// The Lua the binary carries is the Lua in Sources/Workbench/lua (scripts/embed-lua writes it).
@Suite struct EmbeddedLuaTests {
    @Test func theEmbeddedFilesAreTheLuaFiles() throws {
        let lua = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Workbench/lua").standardizedFileURL
        let files = FileManager.default.enumerator(atPath: lua.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".lua") }
        #expect(Set(files) == Set(EmbeddedLua.files.keys), "run scripts/embed-lua")
        for name in files {
            let text = try String(contentsOf: lua.appendingPathComponent(name), encoding: .utf8)
            #expect(EmbeddedLua.files[name] == text, "\(name) differs from the embedded copy: run scripts/embed-lua")
        }
    }

    @Test func theBuiltInRecipesAreThePluginsFolders() throws {
        let plugins = CLI.projectRoot.appendingPathComponent("plugins")
        let files = try FileManager.default.contentsOfDirectory(atPath: plugins.path).filter { $0.hasSuffix(".lua") }
        #expect(Set(files) == Set(EmbeddedLua.recipes.keys), "run scripts/embed-lua")
        for name in files {
            #expect(EmbeddedLua.recipes[name] == (try String(contentsOf: plugins.appendingPathComponent(name), encoding: .utf8)),
                    "plugins/\(name) differs from the embedded copy: run scripts/embed-lua")
        }
    }
}
