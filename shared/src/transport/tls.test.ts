import { describe, expect, it } from 'vitest';
import { isLoopbackHost, strictTransportSecurity, transportNotice, withStrictTransportSecurity } from './tls.ts';

describe('transport rules', () => {
  it('tells loopback addresses from those other machines reach', () => {
    for (const host of ['127.0.0.1', '127.4.5.6', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.5',
      '192.168.1.10',
      'hub.example.com',
      '128.0.0.1',
      '127.0.0.1.nip.io',
    ])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('says plain HTTP is the loopback default and warns on any other address', () => {
    expect(transportNotice('127.0.0.1', false, '--tls-cert FILE --tls-key FILE')).toMatchObject({ level: 'info' });
    expect(transportNotice('127.0.0.1', false, '--tls-cert FILE --tls-key FILE').message).toMatch(
      /plain HTTP on loopback/,
    );
    const exposed = transportNotice('0.0.0.0', false, '--tls-cert FILE --tls-key FILE');
    expect(exposed.level).toBe('warn');
    expect(exposed.message).toMatch(/plain HTTP on 0\.0\.0\.0.*--tls-cert FILE --tls-key FILE/);
    expect(transportNotice('0.0.0.0', true, '')).toMatchObject({
      level: 'info',
      message: expect.stringMatching(/HTTPS/),
    });
  });

  it('adds Strict-Transport-Security to every answer, immutable ones included', async () => {
    const plain = withStrictTransportSecurity(() => new Response('ok', { headers: { 'x-a': '1' } }));
    const answer = await plain(new Request('https://hub.example/healthz'));
    expect(answer.headers.get('strict-transport-security')).toBe(strictTransportSecurity);
    expect(answer.headers.get('x-a')).toBe('1');
    const redirect = withStrictTransportSecurity(() => Response.redirect('https://hub.example/docs', 302));
    const moved = await redirect(new Request('https://hub.example/'));
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('https://hub.example/docs');
    expect(moved.headers.get('strict-transport-security')).toBe(strictTransportSecurity);
  });
});
