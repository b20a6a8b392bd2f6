//! `uptime`, `stop` and `help`.

use serde_json::{json, Value};

use super::{table, Method};
use crate::rpc::context::RpcContext;
use crate::rpc::error::{RpcError, RpcResult};
use crate::rpc::params::Params;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "help",
            category: "control",
            params: &["command"],
            required: 0,
            help: "help ( \"command\" )\n\nList all commands, or get help for a specified command.\n\nArguments:\n1. command    (string, optional, default=all commands) The command to get help on\n\nResult:\n\"str\"    (string) The help text\n",
            run: help,
        },
        Method {
            name: "stop",
            category: "control",
            params: &[],
            required: 0,
            help: "stop\n\nRequest a graceful shutdown of weft.\n\nResult:\n\"str\"    (string) A string with the content 'weft stopping'\n",
            run: stop,
        },
        Method {
            name: "uptime",
            category: "control",
            params: &[],
            required: 0,
            help: "uptime\n\nReturns the total uptime of the server.\n\nResult:\nn    (numeric) The number of seconds that the server has been running\n",
            run: uptime,
        },
    ]
}

fn help(_: &RpcContext, p: &Params) -> RpcResult {
    if let Some(cmd) = p.str(0)? {
        return table()
            .iter()
            .find(|m| m.name == cmd)
            .map(|m| Value::String(m.help.trim_end().to_string()))
            .ok_or_else(|| RpcError::misc(format!("help: unknown command: {cmd}")));
    }
    let mut cats: Vec<&str> = Vec::new();
    // Core lists hidden methods only by name (`help generatetoaddress`).
    for m in table().iter().filter(|m| m.category != "hidden") {
        if !cats.contains(&m.category) {
            cats.push(m.category);
        }
    }
    cats.sort_unstable();
    let mut out = String::new();
    for cat in cats {
        let mut names: Vec<&Method> = table().iter().filter(|m| m.category == cat).collect();
        names.sort_by_key(|m| m.name);
        if !out.is_empty() {
            out.push('\n');
        }
        let mut title = cat.to_string();
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        out.push_str(&format!("== {title} ==\n"));
        for m in names {
            out.push_str(m.help.lines().next().unwrap_or(m.name));
            out.push('\n');
        }
    }
    Ok(Value::String(out.trim_end().to_string()))
}

fn stop(ctx: &RpcContext, _: &Params) -> RpcResult {
    let _ = ctx.stop.send(true);
    Ok(json!("weft stopping"))
}

fn uptime(ctx: &RpcContext, _: &Params) -> RpcResult {
    Ok(json!(ctx.started.elapsed().as_secs()))
}
