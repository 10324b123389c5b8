use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use pglocks::cli::{Cli, Command};
use pglocks::command;

fn main() -> ExitCode {
    let (config_file, args) = pglocks::config::split_args(std::env::args_os().collect());
    let mut command = Cli::command();
    // `pglocks config` reports on the file and the environment itself, so neither a broken
    // file nor a bad variable must stop it.
    let reporting = args.get(1).is_some_and(|a| a == "config");
    let env = match pglocks::config::from_env(&|k| std::env::var(k).ok()) {
        Ok(env) => env,
        Err(_) if reporting => pglocks::config::Environment::default(),
        Err(e) => {
            eprintln!("pglocks: {e}");
            return ExitCode::FAILURE;
        }
    };
    // --config FILE, else PGLOCKS_CONFIG, else the XDG default.
    let config_file = config_file.or(env.config_file.clone());
    let mut keys = pglocks::tui::keys::Keymap::default();
    if !reporting {
        match pglocks::config::load(config_file.as_deref()) {
            Ok(config) => {
                let config = config.map(|(_, c)| c);
                command = pglocks::config::apply(command, config.as_ref(), &env);
                if let Some(c) = config {
                    keys = c.keymap;
                }
            }
            Err(e) => {
                eprintln!("pglocks: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let mut cli = match parsed {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's first line says what is wrong; the usage block after it is noise here.
            let text = e.to_string();
            let mut lines = text.lines();
            let mut line = lines.next().unwrap_or("invalid arguments").to_string();
            // "the following required arguments were not provided:" names them next.
            if line.ends_with(':')
                && let Some(next) = lines.next()
            {
                line = format!("{line} {}", next.trim());
            }
            eprintln!("pglocks: {}", line.trim_start_matches("error: "));
            // 1, not clap's usual 2: `preflight` uses 2 for "would wait", and a deploy gate
            // must not mistake a typo for a verdict.
            return ExitCode::FAILURE;
        }
    };
    // Key bindings are not flags: the screens that read keys get the file's here.
    match &mut cli.command {
        Some(Command::Demo(args)) => args.tui.keys = keys,
        Some(Command::Replay(args)) => args.keys = keys,
        Some(Command::Guard(args)) => args.keys = keys,
        _ => cli.tui.keys = keys,
    }
    // One thread is enough here: the live view's poller runs on a thread of its own
    // (poller.rs), and every other command waits on one server at a time. Fewer threads
    // also mean fewer malloc arenas, which keeps the TUI's resident memory down.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pglocks: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The guard's exit code is the command's, or its own documented codes.
    if let Some(Command::Guard(args)) = &cli.command {
        return runtime.block_on(command::guard::run(args));
    }
    match runtime.block_on(run(cli, config_file)) {
        Ok(()) => ExitCode::SUCCESS,
        // The preflight's report is out; 2 tells a deploy pipeline "not now".
        Err(e) if e.is::<command::preflight::GateClosed>() => {
            eprintln!("pglocks: {e}");
            ExitCode::from(2)
        }
        // The doctor's report is out; 2 says "works, but only in part".
        Err(e) if e.is::<command::doctor::Degraded>() => ExitCode::from(2),
        Err(e) => {
            let text = format!("{e:#}").replace('\n', " ");
            eprintln!("pglocks: {text}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config_file: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Snapshot(args)) => command::snapshot::run(&args).await,
        Some(Command::Demo(args)) => command::demo::run(&args).await,
        Some(Command::Record(args)) => command::record::run(&args).await,
        Some(Command::Report(args)) => command::report::run(&args),
        Some(Command::Replay(args)) => command::replay::run(&args).await,
        Some(Command::Preflight(args)) => command::preflight::run(&args).await,
        // Run by main() itself, which passes its exit code on.
        Some(Command::Guard(_)) => Ok(()),
        Some(Command::Doctor(args)) => command::doctor::run(&args).await,
        Some(Command::Completions(args)) => command::completions::run(&args, Cli::command()),
        Some(Command::Man) => command::man::run(Cli::command()),
        Some(Command::Config(args)) => command::config::run(&args, config_file.as_deref()),
        None => command::live::run(&cli.conn, &cli.analysis, &cli.tui).await,
    }
}
