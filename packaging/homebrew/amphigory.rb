# Homebrew formula: builds amphigory from source with cargo, and installs the shell
# completions and man page it generates from its own command-line definitions.
#
#   brew install --build-from-source packaging/homebrew/amphigory.rb
#   amphigory service install     # LaunchAgent pointing at $(brew --prefix)/bin/amphigory
#
# For a release: set `url` to the release's source archive and `sha256` to its checksum
# (`shasum -a 256 amphigory-VERSION.tar.gz`); `head` builds the main branch.
class Amphigory < Formula
  desc "Host daemon of Amphigory: rips optical discs with MakeMKV for the Amphigory webapp"
  homepage "https://example.invalid/amphigory"
  url "https://example.invalid/amphigory/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"
  head "https://example.invalid/amphigory.git", branch: "main"

  depends_on "rust" => :build

  def install
    # A source archive has no .git: name the release's commit for `git_sha` if known.
    ENV["AMPHIGORY_GIT_SHA"] = ENV["HOMEBREW_AMPHIGORY_GIT_SHA"] if ENV["HOMEBREW_AMPHIGORY_GIT_SHA"]
    system "cargo", "install", *std_cargo_args(path: "crates/amphigory")
    generate_completions_from_executable(bin/"amphigory", "generate", "completions")
    (man1/"amphigory.1").write Utils.safe_popen_read(bin/"amphigory", "generate", "man")
    doc.install "README.md", "docs/real-hardware.md"
  end

  def caveats
    <<~EOS
      amphigory needs MakeMKV (https://www.makemkv.com): install MakeMKV.app, or set
      makemkvcon_path in ~/.config/amphigory/daemon.yaml.

      To start the daemon at login (a LaunchAgent; logs in ~/Library/Logs/Amphigory):
        amphigory service install
      With a drive and a disc, check everything at once:
        amphigory selftest
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/amphigory --version")
    assert_match "Label", shell_output("#{bin}/amphigory service install --dry-run 2>/dev/null")
    system bin/"amphigory", "selftest", "--simulate", "demo-dvd", "--report", testpath/"report.txt"
    assert_path_exists testpath/"report.txt"
  end
end
