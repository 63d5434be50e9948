//! The Rhai sandbox: script conditions and script actions.
//!
//! One engine per pack, built with [`rhai::Engine::new_raw`] and only the packages a rule needs
//! (no clock, no files, no modules, no `eval`), with limits on work and sizes. Scripts compile
//! once when the pack loads and read four constant maps: `ticket`, `customer`, `message`, `event`.

use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};
use serde_json::{json, Value};

use crate::model::{Event, Ticket};

/// Most operations one script run may take.
pub const MAX_OPERATIONS: u64 = 100_000;
/// Deepest function call nesting.
pub const MAX_CALL_LEVELS: usize = 32;
/// Longest string a script may build, in bytes.
pub const MAX_STRING_SIZE: usize = 64 * 1024;
/// Most items in a list or map.
pub const MAX_COLLECTION_SIZE: usize = 10_000;

/// The variables every script sees.
pub const SCRIPT_VARIABLES: &[&str] = &["ticket", "customer", "message", "event"];

/// A script problem at a position in its source (1-based; 0 when unknown).
#[derive(Debug, Clone)]
pub struct ScriptError {
    /// What is wrong.
    pub message: String,
    /// Line in the script source.
    pub line: usize,
    /// Column in the script source.
    pub col: usize,
}

/// Every compiled script of a pack and the engine that runs them.
pub struct Scripts {
    engine: Engine,
    asts: Vec<AST>,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts")
            .field("count", &self.asts.len())
            .finish()
    }
}

impl Default for Scripts {
    fn default() -> Self {
        let mut engine = Engine::new_raw();
        engine.register_global_module(CorePackage::new().as_shared_module());
        engine.register_global_module(LogicPackage::new().as_shared_module());
        engine.register_global_module(MoreStringPackage::new().as_shared_module());
        engine.register_global_module(BasicArrayPackage::new().as_shared_module());
        engine.register_global_module(BasicMapPackage::new().as_shared_module());
        engine.register_global_module(BasicMathPackage::new().as_shared_module());
        engine.set_module_resolver(DummyModuleResolver::new());
        engine.set_max_modules(0);
        engine.set_max_operations(MAX_OPERATIONS);
        engine.set_max_call_levels(MAX_CALL_LEVELS);
        engine.set_max_expr_depths(64, 32);
        engine.set_max_string_size(MAX_STRING_SIZE);
        engine.set_max_array_size(MAX_COLLECTION_SIZE);
        engine.set_max_map_size(MAX_COLLECTION_SIZE);
        engine.set_strict_variables(true);
        engine.disable_symbol("eval");
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        Scripts {
            engine,
            asts: Vec::new(),
        }
    }
}

fn names_scope() -> Scope<'static> {
    let mut scope = Scope::new();
    for name in SCRIPT_VARIABLES {
        scope.push_constant(*name, Dynamic::UNIT);
    }
    scope
}

fn parse_error(e: rhai::ParseError) -> ScriptError {
    let pos = e.position();
    ScriptError {
        message: e.err_type().to_string(),
        line: pos.line().unwrap_or(0),
        col: pos.position().unwrap_or(0),
    }
}

impl Scripts {
    /// Compiles a condition expression.
    pub fn compile_expression(&mut self, source: &str) -> Result<usize, ScriptError> {
        let ast = self
            .engine
            .compile_expression_with_scope(&names_scope(), source)
            .map_err(parse_error)?;
        self.asts.push(ast);
        Ok(self.asts.len() - 1)
    }

    /// Compiles a script file.
    pub fn compile_program(&mut self, source: &str) -> Result<usize, ScriptError> {
        let ast = self
            .engine
            .compile_with_scope(&names_scope(), source)
            .map_err(parse_error)?;
        self.asts.push(ast);
        Ok(self.asts.len() - 1)
    }

    /// Runs script `id` and returns its value.
    pub fn run(&self, id: usize, scope: &mut Scope<'static>) -> Result<Dynamic, String> {
        self.engine
            .eval_ast_with_scope::<Dynamic>(scope, &self.asts[id])
            .map_err(|e| describe_eval_error(&e))
    }

    /// Runs a condition; it must return a boolean.
    pub fn condition(&self, id: usize, scope: &mut Scope<'static>) -> Result<bool, String> {
        let value = self.run(id, scope)?;
        value
            .as_bool()
            .map_err(|ty| format!("the condition returned {ty}, not a boolean"))
    }

    /// Runs an action script; it must return a list of action maps (or nothing).
    pub fn actions(&self, id: usize, scope: &mut Scope<'static>) -> Result<Vec<Value>, String> {
        let value = self.run(id, scope)?;
        if value.is_unit() {
            return Ok(Vec::new());
        }
        let json: Value = rhai::serde::from_dynamic(&value).map_err(|e| e.to_string())?;
        match json {
            Value::Array(items) => Ok(items),
            Value::Object(_) => Ok(vec![json]),
            other => Err(format!(
                "the script returned {}, not a list of actions",
                match other {
                    Value::Null => "nothing",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "text",
                    _ => "a value",
                }
            )),
        }
    }
}

fn describe_eval_error(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorTooManyOperations(pos) => {
            format!("stopped after {MAX_OPERATIONS} operations (a runaway loop?) at {pos}")
        }
        EvalAltResult::ErrorStackOverflow(pos) => {
            format!("calls nested deeper than {MAX_CALL_LEVELS} at {pos}")
        }
        EvalAltResult::ErrorDataTooLarge(what, pos) => {
            format!("{what} over the sandbox limit at {pos}")
        }
        other => other.to_string(),
    }
}

/// The maps scripts see, with every key present (unset fields are `()`).
pub fn scope_for(ticket: &Ticket, event: &Event) -> Scope<'static> {
    let customer = json!({
        "id": ticket.customer.id,
        "name": ticket.customer.name,
        "first_name": ticket.customer.first_name(),
        "email": ticket.customer.email,
        "language": ticket.customer.language,
        "tier": ticket.customer.tier,
        "fields": ticket.customer.fields,
    });
    let ticket_json = json!({
        "id": ticket.id,
        "channel": ticket.channel,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "tags": ticket.tags,
        "category": ticket.category,
        "customer": customer,
        "assignee": ticket.assignee,
        "group": ticket.group,
        "fields": ticket.fields,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "sla": ticket.sla,
        "csat": ticket.csat,
    });
    let message = match &event.message {
        Some(m) => json!({
            "id": m.id, "text": m.text, "author": m.author, "at": m.at, "language": m.language,
        }),
        None => json!({ "id": null, "text": "", "author": null, "at": null, "language": null }),
    };
    let event_json = json!({
        "id": event.id,
        "type": event.kind,
        "occurred_at": event.occurred_at,
        "changes": event.changes,
        "timer": event.timer,
        "data": event.data,
    });
    let dynamic = |v: &Value| rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT);
    let mut scope = Scope::new();
    scope.push_constant("ticket", dynamic(&ticket_json));
    scope.push_constant("customer", dynamic(&customer));
    scope.push_constant("message", dynamic(&message));
    scope.push_constant("event", dynamic(&event_json));
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        let mut t = Ticket {
            id: "T1".into(),
            ..Ticket::default()
        };
        t.customer.tier = Some("gold".into());
        t
    }

    fn event() -> Event {
        Event::from_json(r#"{"id":"e1","type":"message.created","ticket":{"id":"T1"},"message":{"text":"hello there"}}"#).unwrap()
    }

    #[test]
    fn conditions_read_the_maps() {
        let mut s = Scripts::default();
        let id = s
            .compile_expression(r#"customer.tier == "gold" && message.text.len() > 5"#)
            .unwrap();
        assert_eq!(
            s.condition(id, &mut scope_for(&ticket(), &event())),
            Ok(true)
        );
    }

    #[test]
    fn unknown_variables_fail_at_compile_time() {
        let mut s = Scripts::default();
        let e = s
            .compile_expression("tiket.priority == \"high\"")
            .unwrap_err();
        assert!(e.message.contains("tiket"), "{}", e.message);
    }

    #[test]
    fn sandbox_limits_hold() {
        let mut s = Scripts::default();
        let looping = s.compile_program("let x = 0; loop { x += 1; }").unwrap();
        let err = s
            .run(looping, &mut scope_for(&ticket(), &event()))
            .unwrap_err();
        assert!(err.contains("operations"), "{err}");
        assert!(
            s.compile_program("import \"x\" as y; 1").is_err() || {
                let id = s.compile_program("import \"x\" as y; 1").unwrap();
                s.run(id, &mut scope_for(&ticket(), &event())).is_err()
            }
        );
        assert!(s.compile_program("eval(\"1\")").is_err());
        let big = s
            .compile_program("let s = \"x\"; loop { s += s; }")
            .unwrap();
        assert!(s.run(big, &mut scope_for(&ticket(), &event())).is_err());
    }

    #[test]
    fn constants_are_read_only() {
        let mut s = Scripts::default();
        let id = s.compile_program("ticket.priority = \"urgent\"; 1");
        let failed = match id {
            Err(_) => true,
            Ok(id) => s.run(id, &mut scope_for(&ticket(), &event())).is_err(),
        };
        assert!(failed);
    }

    #[test]
    fn actions_come_back_as_json() {
        let mut s = Scripts::default();
        let id = s
            .compile_program(r#"let out = []; if customer.tier == "gold" { out.push(#{ set_priority: "high" }); } out"#)
            .unwrap();
        let actions = s.actions(id, &mut scope_for(&ticket(), &event())).unwrap();
        assert_eq!(actions, vec![json!({"set_priority": "high"})]);
    }
}
