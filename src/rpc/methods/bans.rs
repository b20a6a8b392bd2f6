//! Ban-list methods: `setban`, `listbanned`, `clearbanned`.

use serde_json::{json, Value};

use super::net::{gone, net};
use super::Method;
use crate::p2p::bans::{BanError, SubNet};
use crate::rpc::context::RpcContext;
use crate::rpc::error::{code, RpcError, RpcResult};
use crate::rpc::params::Params;
use crate::runtime::control::BanCommand;

/// Core's `RPC_CLIENT_INVALID_IP_OR_SUBNET`.
const CLIENT_INVALID_IP_OR_SUBNET: i64 = -30;

pub(super) fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "clearbanned",
            category: "network",
            params: &[],
            required: 0,
            help: "clearbanned\n\nClear all banned IPs.\n\nResult:\nnull    (json null)\n",
            run: |ctx, _| {
                net(ctx)?.ban(BanCommand::Clear).map_err(gone)?;
                Ok(Value::Null)
            },
        },
        Method {
            name: "listbanned",
            category: "network",
            params: &[],
            required: 0,
            help: "listbanned\n\nList all manually banned IPs/Subnets.\n\nResult: an array of objects with address, ban_created, banned_until, ban_duration, time_remaining\n",
            run: listbanned,
        },
        Method {
            name: "setban",
            category: "network",
            params: &["subnet", "command", "bantime", "absolute"],
            required: 2,
            help: "setban \"subnet\" \"command\" ( bantime absolute )\n\nAttempts to add or remove an IP/Subnet from the banned list.\n\nArguments:\n1. subnet      (string, required) The IP/Subnet (see getpeerinfo for nodes IP) with an optional netmask (default is /32 = single IP)\n2. command     (string, required) 'add' to add an IP/Subnet to the list, 'remove' to remove an IP/Subnet from the list\n3. bantime     (numeric, optional, default=0) time in seconds how long (or until when if [absolute] is set) the IP is banned (0 or empty means using the default time of 24h which can also be overwritten by the -bantime startup argument)\n4. absolute    (boolean, optional, default=false) If set, the bantime must be an absolute timestamp expressed in UNIX epoch time\n\nResult:\nnull    (json null)\n",
            run: setban,
        },
    ]
}

/// Core's codes for each ban-list error.
fn ban_error(e: BanError) -> RpcError {
    let c = match e {
        BanError::AlreadyBanned => code::CLIENT_NODE_ALREADY_ADDED,
        BanError::AbsoluteInPast => code::INVALID_PARAMETER,
        _ => CLIENT_INVALID_IP_OR_SUBNET,
    };
    RpcError::new(c, e.to_string())
}

fn setban(ctx: &RpcContext, p: &Params) -> RpcResult {
    let command = p.req_str(1)?;
    if command != "add" && command != "remove" {
        let help = super::table()
            .iter()
            .find(|m| m.name == "setban")
            .map_or("", |m| m.help);
        return Err(RpcError::misc(help));
    }
    let subnet: SubNet = p.req_str(0)?.parse().map_err(|_| ban_error(BanError::InvalidSubnet))?;
    let handle = net(ctx)?;
    let res = if command == "add" {
        let bantime = p.int(2)?.unwrap_or(0);
        let absolute = p.bool(3)?.unwrap_or(false);
        handle
            .ban(|reply| BanCommand::Add {
                subnet,
                bantime,
                absolute,
                reply,
            })
            .map_err(gone)?
    } else {
        handle.ban(|reply| BanCommand::Remove { subnet, reply }).map_err(gone)?
    };
    res.map_err(ban_error)?;
    Ok(Value::Null)
}

fn listbanned(ctx: &RpcContext, _: &Params) -> RpcResult {
    let list = net(ctx)?.ban(BanCommand::List).map_err(gone)?;
    let now = crate::runtime::driver::now();
    Ok(Value::Array(
        list.into_iter()
            .map(|(subnet, e)| {
                json!({
                    "address": subnet.to_string(),
                    "ban_created": e.created.as_secs(),
                    "banned_until": e.until.as_secs(),
                    "ban_duration": e.duration().as_secs(),
                    "time_remaining": e.remaining(now).as_secs(),
                })
            })
            .collect(),
    ))
}
