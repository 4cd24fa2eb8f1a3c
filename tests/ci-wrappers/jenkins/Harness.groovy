// Runs jenkins/vars/crlogin.groovy outside Jenkins: stub steps record every withEnv,
// withCredentials and sh call; the step's sh scripts must be the exact single-quoted literals below,
// and are then run for real (sh -xe, as Jenkins does) with the recorded environment, the bound
// canary secrets and the real crlogin binary against a loopback registry.
// Also compiles examples/jenkins/push-image.Jenkinsfile. Environment: REPO, WORK, REGISTRY (127.0.0.1:port),
// IMAGE (oci:DIR:TAG), CRLOGIN_PATH (a dir with crlogin), U_DCR, P_DCR, P_IAM, P_WRONG, and for
// version: RELEASE_URL (a loopback release, tests/release/make-release.sh), VERSION, NO_CRLOGIN_PATH.
// Output of every sh goes to $WORK/transcript.txt (the leak check reads it).
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

final String LOGIN = '''\
command -v "${CRLOGIN_BIN:-crlogin}" >/dev/null || { echo "crlogin: error: ${CRLOGIN_BIN:-crlogin} not found: put crlogin on the agent's PATH or pass binary: '/path/to/crlogin'" >&2; exit 127; }
unset CRLOGIN_ISOLATED
"${CRLOGIN_BIN:-crlogin}" login --config-dir "$CRLOGIN_CONFIG_DIR"
'''
final String CLEANUP = '''\
if "${CRLOGIN_BIN:-crlogin}" cleanup --help >/dev/null 2>&1; then "${CRLOGIN_BIN:-crlogin}" cleanup --config-dir "$CRLOGIN_CONFIG_DIR" || true; fi
rm -rf "$CRLOGIN_CONFIG_DIR" "$CRLOGIN_CONFIG_DIR.bin"
'''
final List<String> SECRET_VARS = ['DCR_USERNAME', 'DCR_PASSWORD', 'NEBIUS_STATIC_KEY', 'NEBIUS_SA_CREDENTIALS_FILE']

class Fake {
    String workspace
    Map<String, String> baseEnv
    Map<String, Map> credentials
    File transcript
    boolean execute = true
    boolean unix = true
    List<Map<String, String>> stack = []
    List<Map> calls = []

    Map<String, String> currentEnv() {
        Map<String, String> e = new LinkedHashMap(baseEnv)
        stack.each { e.putAll(it) }
        e
    }

    def push(Map<String, String> vars, Closure body) {
        stack << vars
        try { body() } finally { stack.remove(stack.size() - 1) }
    }

    def withEnv(List vars, Closure body) {
        vars.each { assert it instanceof String: "withEnv got a ${it.getClass()}: $it" }
        calls << [step: 'withEnv', vars: vars]
        push(vars.collectEntries { String v -> [(v.substring(0, v.indexOf('='))): v.substring(v.indexOf('=') + 1)] }, body)
    }

    def withCredentials(List bindings, Closure body) {
        calls << [step: 'withCredentials', bindings: bindings]
        Map<String, String> bound = [:]
        List<File> files = []
        bindings.each { Map b ->
            Map c = credentials[b.credentialsId]
            assert c != null: "no credential ${b.credentialsId}"
            switch (b.type) {
                case 'string': bound[b.variable] = c.secret; break
                case 'file':
                    File f = new File("${workspace}@tmp/secretFiles/${UUID.randomUUID()}/key.json")
                    f.parentFile.mkdirs(); f.text = c.secret; files << f
                    bound[b.variable] = f.path; break
                case 'usernamePassword':
                    bound[b.usernameVariable] = c.username; bound[b.passwordVariable] = c.password; break
                default: assert false: "binding type ${b.type}"
            }
        }
        try { push(bound, body) } finally {
            files.each { it.parentFile.deleteDir() }
            new File("${workspace}@tmp/secretFiles").delete()   // when empty
        }
    }

    def sh(String from, arg) {
        Map a = arg instanceof Map ? arg : [script: arg]
        assert a.script instanceof String: "sh got a ${a.script.getClass()} (Groovy-interpolated?): ${a.script}"
        Map<String, String> env = currentEnv()
        calls << [step: 'sh', from: from, script: a.script, env: env]
        if (!execute) return a.returnStdout ? '' : null
        ProcessBuilder pb = new ProcessBuilder('/bin/sh', '-xe', '-c', a.script).directory(new File(workspace))
        pb.environment().clear()
        env.each { k, v -> pb.environment().put(k.toString(), v.toString()) }
        Process p = pb.start()
        def out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream()
        p.waitForProcessOutput(out, err)
        int rc = p.exitValue()
        transcript << "--- sh (${from}), exit ${rc}\n${err}${out}"
        if (rc != 0) throw new IllegalStateException("script returned exit code ${rc}")
        a.returnStdout ? out.toString() : null
    }
}

class EnvProxy {   // `env.NAME` sees withEnv, as in Jenkins
    Fake j
    def propertyMissing(String name) { j.currentEnv()[name] }
}

def cfg = System.getenv()
String work = cfg.WORK, registry = cfg.REGISTRY
String workspace = "${work}/ws"
new File(workspace).mkdirs()
Fake j = new Fake(workspace: workspace, transcript: new File(work, 'transcript.txt'),
    baseEnv: [PATH: "${cfg.CRLOGIN_PATH}:/usr/local/bin:/usr/bin:/bin", HOME: "${work}/home", LANG: 'C.UTF-8',
              WORKSPACE: workspace, JENKINS_URL: 'http://jenkins.invalid/', BUILD_ID: '7', BUILD_NUMBER: '7',
              REGISTRY: registry, IMAGE: cfg.IMAGE],
    credentials: ['dcr': [username: cfg.U_DCR, password: cfg.P_DCR],
                  'dcr-wrong': [username: cfg.U_DCR, password: cfg.P_WRONG],
                  'cr-key': [secret: cfg.P_IAM],
                  'nebius-sa': [secret: '{"not": "used"}']])

def loader = new GroovyClassLoader(this.class.classLoader)
loader.parseClass('package com.cloudbees.groovy.cps; @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME) @interface NonCPS {}')
loader.parseClass('package org.jenkinsci.plugins.workflow.libs; @interface Library { String[] value() }')
def compiler = new CompilerConfiguration()
compiler.addCompilationCustomizers(new ImportCustomizer().addImports('com.cloudbees.groovy.cps.NonCPS', 'org.jenkinsci.plugins.workflow.libs.Library'))
def binding = new Binding()
binding.with {
    setVariable('withEnv', j.&withEnv)
    setVariable('withCredentials', j.&withCredentials)
    setVariable('sh', { arg -> j.sh('step', arg) })
    setVariable('isUnix', { -> j.unix })
    // No PowerShell here: a Windows agent's scripts are recorded and answered, not run.
    setVariable('powershell', { Map a ->
        assert a.script instanceof String: "powershell got a ${a.script.getClass()} (Groovy-interpolated?)"
        j.calls << [step: 'powershell', script: a.script, env: j.currentEnv()]
        a.returnStdout ? '' : null
    })
    setVariable('file', { Map m -> [type: 'file'] + m })
    setVariable('string', { Map m -> [type: 'string'] + m })
    setVariable('usernamePassword', { Map m -> [type: 'usernamePassword'] + m })
    setVariable('error', { String msg -> j.calls << [step: 'error', message: msg]; throw new IllegalStateException(msg) })
    setVariable('pwd', { Map m -> m.tmp ? "${workspace}@tmp" : workspace })
    setVariable('env', new EnvProxy(j: j))
    setVariable('isUnix', { -> j.unix })
}
def shell = new GroovyShell(loader, binding, compiler)
shell.parse(new File(cfg.REPO, 'examples/jenkins/push-image.Jenkinsfile'))
println 'parsed: examples/jenkins/push-image.Jenkinsfile'
Script crlogin = shell.parse(new File(cfg.REPO, 'jenkins/vars/crlogin.groovy'))
crlogin.binding = binding
println 'parsed: jenkins/vars/crlogin.groovy'

int cases = 0
// run(name, args, body): runs the step, checks the calls common to every run; returns the sh calls.
def run = { String name, Map args, Closure body, boolean fails = false ->
    j.calls.clear()
    Throwable thrown = null
    try { crlogin.call(args, body) } catch (Throwable t) { thrown = t }
    assert (thrown != null) == fails: "${name}: ${thrown ?: 'no failure'}"
    List<Map> shs = j.calls.findAll { it.step == 'sh' }
    List<Map> own = shs.findAll { it.from == 'step' }
    if (own && own[0].script == crlogin.INSTALL) {
        assert !own[0].env.keySet().any { it in SECRET_VARS }: "${name}: a secret is bound during the install"
        own = own.drop(1)
    }
    assert own.size() in [1, 2] && own[0].script == LOGIN && own[-1].script == CLEANUP: "${name}: sh scripts ${own*.script}"
    String dir = own[0].env.CRLOGIN_CONFIG_DIR
    assert dir.startsWith("${workspace}@tmp/crlogin-7-"): "${name}: ${dir}"
    assert !new File(dir).exists(): "${name}: ${dir} is still there after cleanup"
    ([own[-1]] + shs.findAll { it.from == 'body' }).each { call ->
        assert !call.env.keySet().any { it in SECRET_VARS }: "${name}: a secret is bound outside the login: ${call.script}"
    }
    cases++
    println "ok: ${name}"
    shs
}
def body = { Map expect -> return { ->
    Map e = j.currentEnv()
    expect.each { k, v -> assert e[k] == (v instanceof Closure ? v(e) : v): "body env ${k}=${e[k]}" }
    j.sh('body', 'skopeo copy -q --dest-tls-verify=false "$IMAGE" "docker://$REGISTRY/jenkins/hello:v1"')
    j.sh('body', 'skopeo inspect --tls-verify=false --format "{{.Digest}}" "docker://$REGISTRY/jenkins/hello:v1"')
} }

// The registry as docker takes it (a URL); checked before writing by default (no verify:).
def shs = run('usernamePassword: DCR_* login, skopeo push with the written files, cleanup',
    [credentialsId: 'dcr', kind: 'usernamePassword', registry: "http://${registry}/jenkins"],
    body(DOCKER_CONFIG: { it.CRLOGIN_CONFIG_DIR }, HELM_REGISTRY_CONFIG: { it.CRLOGIN_CONFIG_DIR + '/config.json' },
         REGISTRY_AUTH_FILE: { it.CRLOGIN_CONFIG_DIR + '/config.json' }))
assert shs[0].env.subMap(['DCR_USERNAME', 'DCR_PASSWORD', 'DCR_REGISTRY', 'CRLOGIN_VERIFY', 'CRLOGIN_WRAPPER']) ==
    [DCR_USERNAME: cfg.U_DCR, DCR_PASSWORD: cfg.P_DCR, DCR_REGISTRY: "http://${registry}/jenkins".toString(), CRLOGIN_VERIFY: 'true',
     CRLOGIN_WRAPPER: 'jenkins-step']

assert j.transcript.text.contains("verified ${registry}"): 'the registry was not verified by default'
// verify: 'false' is false (Groovy truth would make the non-empty string true): a wrong password
// is then written without asking the registry, and the block runs.
shs = run("verify: 'false' verifies nothing", [credentialsId: 'dcr-wrong', kind: 'usernamePassword', registry: registry, verify: 'false'],
    { -> j.sh('body', 'grep -q auths "$DOCKER_CONFIG/config.json"') })
assert shs[0].env.CRLOGIN_VERIFY == 'false'
shs = run("verify: 'true' verifies", [credentialsId: 'dcr', kind: 'usernamePassword', registry: registry, verify: 'true'], { -> })
assert shs[0].env.CRLOGIN_VERIFY == 'true'

shs = run('string: static key (user iam) for one host, podman only',
    [credentialsId: 'cr-key', type: 'string', registries: [registry], tools: ['podman']],
    body(DOCKER_CONFIG: null, HELM_REGISTRY_CONFIG: null, REGISTRY_AUTH_FILE: { it.CRLOGIN_CONFIG_DIR + '/config.json' }))
assert shs[0].env.subMap(['NEBIUS_STATIC_KEY', 'CRLOGIN_REGISTRIES', 'CRLOGIN_FOR']) ==
    [NEBIUS_STATIC_KEY: cfg.P_IAM, CRLOGIN_REGISTRIES: registry, CRLOGIN_FOR: 'podman']

run('a failing block still cleans up', [credentialsId: 'dcr', kind: 'usernamePassword', registry: registry],
    { -> j.sh('body', 'test -s "$DOCKER_CONFIG/config.json"; exit 3') }, true)

int seen = j.transcript.text.length()
shs = run('a rejected password fails before the block by default, with nothing written, and cleans up',
    [credentialsId: 'dcr-wrong', kind: 'usernamePassword', registry: registry], { -> assert false }, true)
assert shs.size() == 2
String refused = j.transcript.text.substring(seen)
assert refused.contains('did not accept the login: the registry rejected the credential (HTTP 401'): refused
assert refused.contains('nothing was written') && !refused.contains('logged in to'): refused
assert !new File(shs[0].env.CRLOGIN_CONFIG_DIR).exists(): 'a refused login left its directory'

shs = run('a missing binary is a clear error', [credentialsId: 'cr-key', kind: 'string', binary: '/nonexistent/crlogin'],
    { -> assert false }, true)
assert j.transcript.text.contains('crlogin: error: /nonexistent/crlogin not found')

// version: crlogin is not on the agent: downloaded from the loopback release, verified, used, removed.
String agentPath = j.baseEnv.PATH
j.baseEnv.PATH = cfg.NO_CRLOGIN_PATH
shs = run('version: downloads and verifies the release binary when the agent has none',
    [credentialsId: 'dcr', kind: 'usernamePassword', registry: "${registry}/jenkins", version: cfg.VERSION, releaseUrl: cfg.RELEASE_URL],
    body(DOCKER_CONFIG: { it.CRLOGIN_CONFIG_DIR }))
assert shs[0].script == crlogin.INSTALL && shs[1].env.CRLOGIN_BIN == shs[0].env.CRLOGIN_CONFIG_DIR + '.bin/crlogin'
assert shs[-1].env.CRLOGIN_BIN == shs[1].env.CRLOGIN_BIN: 'cleanup ran another binary'
assert !new File(shs[0].env.CRLOGIN_CONFIG_DIR + '.bin').exists(): 'the downloaded binary was left behind'
[[cfg.RELEASE_URL + 'tampered/', 'the downloaded crlogin-x86_64-unknown-linux-musl does not match its SHA-256 in ' + cfg.RELEASE_URL + 'tampered/SHA256SUMS; not running it'],
 [cfg.RELEASE_URL + 'missing/', 'cannot download crlogin ' + cfg.VERSION + ' from ' + cfg.RELEASE_URL + 'missing/: check version: and releaseUrl:'],
 // userinfo_in_release_url_cannot_send_the_download_off_loopback; a redirect to plain http.
 ['http://127.0.0.1:1@example.invalid/', 'the release URL http://127.0.0.1:1@example.invalid must be an https URL (or http on loopback) with a plain host and no user:password@'],
 [cfg.RELEASE_URL + 'redirect-http/', 'cannot download crlogin ' + cfg.VERSION + ' from ' + cfg.RELEASE_URL + 'redirect-http/']].each { url, message ->
    j.calls.clear()
    Throwable thrown = null
    try { crlogin.call([credentialsId: 'dcr', kind: 'usernamePassword', registry: registry, version: cfg.VERSION, releaseUrl: url]) { -> assert false } } catch (Throwable t) { thrown = t }
    assert thrown != null
    List<Map> own = j.calls.findAll { it.step == 'sh' }
    assert own*.script == [crlogin.INSTALL, CLEANUP] && !j.calls.any { it.step == 'withCredentials' }: "${url}: ${own*.script}"
    assert j.transcript.text.contains('crlogin: error: ' + message): message
    assert !new File(own[0].env.CRLOGIN_CONFIG_DIR + '.bin').exists()
    assert !new File("${cfg.WORK}/tampered-ran").exists(): 'the tampered download was run'
    cases++
    println "ok: version: ${message}"
}
j.baseEnv.PATH = agentPath

j.execute = false  // the authorized-key exchange needs Nebius IAM: check the binding and settings only
shs = run('file (default kind): authorized key as NEBIUS_SA_CREDENTIALS_FILE',
    [credentialsId: 'nebius-sa', regions: ['eu-north1', 'eu-west1']], { -> })
assert j.calls.find { it.step == 'withCredentials' }.bindings ==
    [[type: 'file', credentialsId: 'nebius-sa', variable: 'NEBIUS_SA_CREDENTIALS_FILE']]
assert shs[0].env.NEBIUS_REGIONS == 'eu-north1,eu-west1' && shs[0].env.NEBIUS_SA_CREDENTIALS_FILE.endsWith('key.json')

[[[kind: 'usernamePassword', credentialsId: 'dcr'], "needs registry"],
 [[credentialsId: 'dcr', kind: 'usernamePassword', registry: 'r.example', verify: 'no'], "verify must be true or false (a boolean, or the string 'true' or 'false'), not 'no'"],
 [[credentialsId: 'dcr', kind: 'usernamePassword', registry: 'r.example', verify: 1], "verify must be true or false"],
 [[kind: 'token', credentialsId: 'dcr'], "kind must be"],
 [[regions: ['eu-north1']], 'credentialsId is required'],
 [[credentialsId: 'dcr', region: 'eu-north1'], 'unknown parameter region'],
 [[credentialsId: 'dcr', version: 'latest'], "version must be X.Y.Z, not 'latest'"]].each { args, message ->
    j.calls.clear()
    try { crlogin.call(args) { -> }; assert false: "no error for ${args}" } catch (IllegalStateException e) {
        assert e.message.contains(message): e.message
    }
    assert !j.calls.any { it.step in ['sh', 'withCredentials'] }
    cases++
    println "ok: error for ${args}: ${message}"
}
j.unix = false  // a Windows agent: the same flow through the powershell step
j.calls.clear()
crlogin.call([credentialsId: 'cr-key', kind: 'string']) { -> }
List<Map> ps = j.calls.findAll { it.step == 'powershell' }
assert ps*.script == [crlogin.LOGIN_PS, crlogin.CLEANUP_PS] && !j.calls.any { it.step == 'sh' }: "windows agent: ${j.calls*.step}"
assert ps[0].env.NEBIUS_STATIC_KEY == cfg.P_IAM && !ps[1].env.containsKey('NEBIUS_STATIC_KEY')
cases++
println 'ok: a Windows agent runs the PowerShell scripts, secrets bound for the login alone'
j.unix = true
println "jenkins harness: ${cases} cases passed"
