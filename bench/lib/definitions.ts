/** The journeys and templates the benchmarks deploy, written to a temp definitions folder. */
import fs from 'node:fs';
import path from 'node:path';

const files: Record<string, string> = {
  // Benchmark 1: send, wait 1 s, if, update_profile, send.
  'journeys/bench-five.yaml': `journey: bench-five
trigger:
  event: bench_five
re_entry: always
steps:
  - id: hello
    send: bench-hello
  - id: pause
    wait: 1s
  - id: vip
    if: { profile.vip: true }
    then:
      - id: mark-vip
        update_profile:
          add_tags: [vip-bench]
    else:
      - id: mark
        update_profile:
          increment: { bench_runs: 1 }
  - id: bye
    send: bench-bye
`,
  // Benchmark 2: the first event of a customer enters; every later one is a signal to the run
  // (exit_when makes the journey listen for bench_ping; the where never holds, so it keeps
  // waiting). It reads the profile, so the router cannot rule the signal out (routing/relevance.ts).
  'journeys/bench-visit.yaml': `journey: bench-visit
trigger:
  event: bench_start
re_entry: never
exit_when:
  - event: bench_ping
    where: { profile.stop_visits: true }
steps:
  - wait: 7d
`,
  // Benchmark 3: the first step is a send.
  'journeys/bench-hello.yaml': `journey: bench-hello
trigger:
  event: bench_hello
re_entry: always
steps:
  - id: hello
    send: bench-hello
`,
  // Benchmark 4: a customer who waits seven days, then gets a message.
  'journeys/bench-wait.yaml': `journey: bench-wait
trigger:
  event: bench_wait
re_entry: never
steps:
  - wait: 7d
  - id: later
    send: bench-hello
`,
  'templates/bench-hello.yaml': `template: bench-hello
channel: email
subject: "Hello {{ profile.first_name | default: 'there' }}"
text: Welcome aboard.
`,
  'templates/bench-bye.yaml': `template: bench-bye
channel: email
subject: See you
text: Thanks for staying with us.
`,
};

/**
 * The broadcast benchmark's audience journey, apart from the others: an audience journey makes the
 * router look at audiences on every event, which the other benchmarks must not pay for. It enters
 * at 1,000 a second, then waits seven days.
 */
export const broadcastFiles: Record<string, string> = {
  'audiences/bench-broadcast.yaml': `audience: bench-broadcast
name: Bench broadcast
where:
  profile.bench_broadcast: { eq: true }
`,
  'journeys/bench-broadcast.yaml': `journey: bench-broadcast
trigger:
  audience: bench-broadcast
rate: 1000
re_entry: never
steps:
  - wait: 7d
  - id: later
    send: bench-hello
`,
};

/** Writes the bench definitions (and `extra` ones) under `dir` and returns it. */
export function writeBenchDefinitions(dir: string, extra: Record<string, string> = {}): string {
  for (const [name, text] of Object.entries({ ...files, ...extra })) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/**
 * `count` generated journeys of varied shape (trigger with where, goal, waits, wait_for with both
 * branches, if/else, update_profile, sends) over 20 shared templates, for the compile benchmark.
 */
export function writeGeneratedDefinitions(dir: string, count: number): void {
  fs.mkdirSync(path.join(dir, 'journeys'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'templates'), { recursive: true });
  for (let t = 0; t < 20; t++) {
    fs.writeFileSync(
      path.join(dir, 'templates', `t${t}.yaml`),
      `template: t${t}
channel: email
subject: "{{ profile.first_name | default: 'Hi' }}, about {{ trigger.properties.item | default: 'your order' }} (${t})"
text: |
  Hello {{ profile.first_name | default: 'there' }},
  {% if profile.vip %}As a VIP you get {{ data.discount | default: '10%' }} off.{% else %}Thanks for being with us.{% endif %}
  Item: {{ trigger.properties.item | default: 'n/a' }}
`,
    );
  }
  for (let i = 0; i < count; i++) {
    const t = (k: number) => `t${(i + k) % 20}`;
    fs.writeFileSync(
      path.join(dir, 'journeys', `j${i}.yaml`),
      `journey: j${i}
name: Generated journey ${i}
trigger:
  event: event_${i % 50}
  where:
    trigger.properties.total: { gte: ${i % 100} }
re_entry: ${i % 3 === 0 ? 'never' : i % 3 === 1 ? 'always' : '7d'}
goal:
  event: goal_${i % 50}
  where: { event.properties.item: "{{ trigger.properties.item }}" }
exit_when:
  - event: stop_${i % 10}
steps:
  - id: first
    send: ${t(0)}
  - wait: ${1 + (i % 48)}h
  - id: wait-click
    wait_for:
      event: clicked_${i % 7}
      within: 2d
    on_event:
      - id: thanks
        send: ${t(1)}
    on_timeout:
      - id: vip-check
        if: { profile.vip: true }
        then:
          - id: vip-offer
            send:
              template: ${t(2)}
              data: { discount: "${5 + (i % 20)}%" }
        else:
          - id: nudge
            send: ${t(3)}
  - id: remember
    update_profile:
      set: { last_journey: "j${i}", last_at: "{{ now }}" }
      increment: { touches: 1 }
      add_tags: [gen-${i % 5}]
  - wait: 3d
  - id: last
    send: ${t(4)}
`,
    );
  }
}
